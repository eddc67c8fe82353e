import { DtsError, ExitCode } from '../errors.js';
import type { Task } from '../task/types.js';

/** Why a run stopped before its end: `dts cancel`, or Ctrl-C / SIGTERM (resumable). */
export type StopReason = 'cancelled' | 'interrupted';

/** The error a stopped run ends with; the task's phase says the same in `_dts`. */
export function stopError(task: Task, reason: StopReason, cause?: unknown): DtsError {
  const file = task.file;
  return reason === 'cancelled'
    ? new DtsError('cancelled', `task ${task.name} was cancelled (dts cancel)`, {
        hint: `\`dts run --restart ${file}\` starts it again`,
        exitCode: ExitCode.state,
        cause,
      })
    : new DtsError('interrupted', `task ${task.name} was interrupted; nothing is lost`, {
        hint: `run \`dts run ${file}\` again to resume`,
        exitCode: ExitCode.state,
        cause,
      });
}

export const stopReason = (signal: AbortSignal | undefined): StopReason =>
  signal?.reason === 'cancelled' ? 'cancelled' : 'interrupted';
