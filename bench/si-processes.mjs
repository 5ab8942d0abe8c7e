// The systeminformation baseline: one si.processes() call, as a script would make it.
import si from 'systeminformation';

const data = await si.processes();
process.stdout.write(`${JSON.stringify({processes: data.list.length})}\n`);
