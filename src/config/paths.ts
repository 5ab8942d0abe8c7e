// Default places of configuration and state (docs/architecture.md, "Where state lives").
import {homedir} from 'node:os';
import {isAbsolute, join} from 'node:path';

import type {DaemonEyeConfig} from './schema.js';
import {ensureStateDirectory} from '../util/state-file.js';

export const SYSTEM_CONFIG_PATH = '/etc/daemoneye/config.yaml';

function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

function home(env: NodeJS.ProcessEnv): string {
  return env.HOME ?? homedir();
}

/** `$XDG_CONFIG_HOME/daemoneye/config.yaml`, else `~/.config/daemoneye/config.yaml`. */
export function userConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME !== undefined && env.XDG_CONFIG_HOME !== '' ? env.XDG_CONFIG_HOME : join(home(env), '.config');
  return join(base, 'daemoneye', 'config.yaml');
}

/**
 * `$STATE_DIRECTORY` when systemd set it (a unit's `StateDirectory=`; with several, the first), else
 * `/var/lib/daemoneye` as root, else `$XDG_STATE_HOME/daemoneye` or `~/.local/state/daemoneye`.
 */
export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  const systemd = env.STATE_DIRECTORY?.split(':')[0];
  if (systemd !== undefined && isAbsolute(systemd)) return systemd;
  if (isRoot()) return '/var/lib/daemoneye';
  const base = env.XDG_STATE_HOME !== undefined && env.XDG_STATE_HOME !== '' ? env.XDG_STATE_HOME : join(home(env), '.local', 'state');
  return join(base, 'daemoneye');
}

export interface StatePaths {
  readonly stateDir: string;
  readonly storeDir: string;
  readonly alertsDir: string;
  readonly ledgerPath: string;
}

/** The state paths a configuration resolves to (nothing is created). */
export function statePaths(config: DaemonEyeConfig, env: NodeJS.ProcessEnv = process.env): StatePaths {
  const stateDir = config.app.state_dir ?? defaultStateDir(env);
  return {
    stateDir,
    storeDir: config.storage.path ?? join(stateDir, 'store'),
    alertsDir: config.alerting.state_dir ?? join(stateDir, 'alerts'),
    ledgerPath: config.audit.ledger_path ?? join(stateDir, 'audit.ledger'),
  };
}

/**
 * Create a state directory (mode 0700) on first use, and check it can be trusted (src/util/state-file.ts:
 * a directory of this user that others cannot write; STATE_UNSAFE otherwise).
 */
export function ensureStateDir(dir: string, what = 'state directory'): string {
  ensureStateDirectory(dir, what);
  return dir;
}
