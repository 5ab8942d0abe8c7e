// Small facts about other processes on this host.
import {systemErrorCode} from '../errors.js';

/** Whether a process id is running on this host (signal 0 only checks; EPERM means it exists). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return systemErrorCode(error) === 'EPERM';
  }
}
