import type { z } from 'zod';
import { taskFileSchema } from '../../task/file-schema.js';
import { MODES, type Mode } from '../../task/types.js';
import type { Prompts } from './prompts.js';

/** An inquirer validator from a file-schema field: the wizard accepts exactly what the file does. */
function accepts(schema: z.ZodType) {
  return (value: string): true | string => {
    const r = schema.safeParse(value);
    return r.success || (r.error.issues[0]?.message ?? 'not a valid value');
  };
}

export async function askName(prompts: Prompts): Promise<string> {
  return prompts.input({
    message: 'Task name (letters, digits, _ . -)',
    validate: accepts(taskFileSchema.shape.name),
  });
}

/** An ISO-8601 time with an offset, or nothing to start at once. */
export function scheduleProblem(text: string): true | string {
  if (text === '') return true;
  const shape = accepts(taskFileSchema.shape.schedule)(text);
  if (shape !== true) return shape;
  return Number.isNaN(new Date(text).getTime()) ? 'not a valid date and time' : true;
}

export async function askSchedule(prompts: Prompts): Promise<string | undefined> {
  const text = await prompts.input({
    message: 'Start at (ISO-8601 with offset, e.g. 2026-12-01T02:00:00+01:00; empty = at once)',
    validate: (v) => scheduleProblem(v.trim()),
  });
  return text.trim() === '' ? undefined : text.trim();
}

const MODE_DESCRIPTIONS: Record<Mode, string> = {
  structure: 'structure: tables, indexes, constraints, functions; no rows',
  full: 'full: structure and a one-time copy of the rows',
  'full+incremental': 'full+incremental: copy, then keep the target in sync until you complete',
};

export async function askMode(prompts: Prompts): Promise<Mode> {
  return prompts.select<Mode>({
    message: 'Mode',
    choices: MODES.map((m) => ({ value: m, name: MODE_DESCRIPTIONS[m], short: m })),
    default: 'full+incremental',
  });
}
