// The pstree-like text view of a process forest: one line per process (pid, user, marks, executable,
// argv), sockets under their process, each line terminal-safe and cut to the terminal width; and the tree
// as a View (treeView).
import type {Palette} from '../output/colour.js';
import {PLAIN} from '../output/colour.js';
import {terminalSafe, truncate} from '../output/terminal.js';
import type {Terminal, View} from '../output/view.js';
import type {ProcessTreeNode, TreeSocket} from './process-tree.js';

function endpoint(address: string | null, port: number | null): string {
  if (address === null) return '?';
  const host = address.includes(':') ? `[${address}]` : address;
  return port === null ? host : `${host}:${port}`;
}

/** IP protocol numbers as `ss` names them (IANA protocol numbers; process_open_sockets stores the number). */
const IP_PROTOCOL_NAMES: Readonly<Record<number, string>> = {1: 'icmp', 6: 'tcp', 17: 'udp', 58: 'icmp6', 132: 'sctp', 136: 'udplite'};

/** `tcp`, `udp6`, `unix`, `packet`, `netlink`, `raw`: the socket's kind in one word. */
function protocolName(socket: TreeSocket): string {
  const family = socket.family ?? '';
  if (family === 'AF_INET' || family === 'AF_INET6') {
    const name = (socket.protocol === null ? undefined : IP_PROTOCOL_NAMES[socket.protocol]) ?? 'raw';
    return family === 'AF_INET6' ? `${name}6` : name;
  }
  if (family.startsWith('AF_')) return family.slice(3).toLowerCase();
  return socket.protocol === null ? 'socket' : String(socket.protocol).toLowerCase();
}

/** `tcp 127.0.0.1:4444 → 10.0.0.1:80 ESTABLISHED` or `unix /run/x.sock`, for a socket line. */
export function socketText(socket: TreeSocket): string {
  const fd = `fd ${socket.fd} `;
  const protocol = protocolName(socket);
  if (socket.path !== null && socket.path !== '') return `${fd}${protocol} ${socket.path}`;
  const local = endpoint(socket.local_address, socket.local_port);
  const remote =
    socket.remote_address === null || socket.remote_port === 0 || socket.remote_port === null
      ? ''
      : ` → ${endpoint(socket.remote_address, socket.remote_port)}`;
  return `${fd}${protocol} ${local}${remote}${socket.state === null ? '' : ` ${socket.state}`}`;
}

function label(node: ProcessTreeNode): string {
  const argv = node.command_line.length === 0 ? `[${node.name}]` : node.command_line.join(' ');
  const exe = node.executable_path === null || node.executable_path === node.command_line[0] ? '' : `${node.executable_path} `;
  return `${exe}${argv}`;
}

function marksText(node: ProcessTreeNode): string {
  const marks: string[] = node.marks.filter((m) => m !== 'alert');
  if (node.alert !== null) marks.push(`alert ${node.alert.severity}: ${node.alert.rules.join(', ')}`);
  return marks.length === 0 ? '' : `[${marks.join('] [')}] `;
}

/**
 * The forest as text, like `pstree -p -u -a`: `├─`/`└─` branches, then `PID USER [marks] EXE ARGV`. The
 * marks come before the executable so that cutting a long argv to `width` never hides them. Every piece
 * of process-controlled text (name, path, argv, user, socket path) is escaped by terminalSafe.
 */
export function renderProcessTree(roots: readonly ProcessTreeNode[], options: {width?: number; palette?: Palette} = {}): string {
  return [...processTreeLines(roots, options)].join('');
}

/**
 * renderProcessTree's text a process at a time (its line and the lines under it, each ending in `\n`), walking
 * with its own stack: a chain of nested processes as deep as a host allows needs no call stack.
 */
export function* processTreeLines(roots: readonly ProcessTreeNode[], options: {width?: number; palette?: Palette} = {}): Generator<string, void, undefined> {
  const palette = options.palette ?? PLAIN;
  const line = (prefix: string, text: string, paint?: (s: string) => string): string => {
    const safe = terminalSafe(text);
    const room = options.width === undefined ? undefined : Math.max(8, options.width - [...prefix].length);
    const cut = room === undefined ? safe : truncate(safe, room);
    return `${prefix}${paint === undefined ? cut : paint(cut)}\n`;
  };
  // Pre-order, children in order: the stack holds what is still to draw, the next node on top.
  const pending: {node: ProcessTreeNode; lead: string; branch: string}[] = [...roots].reverse().map((node) => ({node, lead: '', branch: ''}));
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const {node, lead, branch} = next;
    const paint = node.alert === null ? undefined : palette.severity(node.alert.severity);
    let text = line(
      `${lead}${branch}`,
      `${node.pid} ${node.user_name ?? (node.uid === null ? '?' : String(node.uid))} ${marksText(node)}${label(node)}`,
      paint,
    );
    const below = lead + (branch === '' ? '' : branch === '└─ ' ? '   ' : '│  ');
    // Under an alerted process: what each alert found there, and what to run next.
    const notes = [...(node.alert?.evidence.map((e) => `alert ${e}`) ?? []), ...(node.alert?.next.map((n) => `next: ${n}`) ?? [])];
    const under = [...notes, ...node.sockets.map((socket) => `socket ${socketText(socket)}`)];
    under.forEach((note, index) => {
      const last = index === under.length - 1 && node.children.length === 0;
      text += line(`${below}${last ? '└' : '├'}╌ `, note);
    });
    yield text;
    for (let index = node.children.length - 1; index >= 0; index--) {
      pending.push({node: node.children[index] as ProcessTreeNode, lead: below, branch: index === node.children.length - 1 ? '└─ ' : '├─ '});
    }
  }
}

/**
 * The tree as a View of the one `--format` dispatch (src/output/view.ts): roots as rows (nested JSON and
 * NDJSON, one root per line), drawn by renderProcessTree for `tree` and on a terminal (`table`).
 */
export function treeView(roots: readonly ProcessTreeNode[]): View<ProcessTreeNode> {
  const draw = (rows: readonly ProcessTreeNode[], terminal: Terminal): Iterable<string> =>
    processTreeLines(rows, {...(terminal.width === undefined ? {} : {width: terminal.width}), palette: terminal.palette});
  return {rows: roots, text: {tree: draw, table: draw}};
}
