import type { Prompts } from '../../src/cli/wizard/prompts.js';

/**
 * Wizard prompts that answer from a list, in order, and record every question asked and line said, so a
 * test can drive the wizard's steps (against real servers too) and assert exactly what it asked.
 */
export function scriptedPrompts(answers: readonly unknown[]) {
  const asked: string[] = [];
  const queue = [...answers];
  const next = <T>(message: string): Promise<T> => {
    asked.push(message);
    if (queue.length === 0) return Promise.reject(new Error(`unexpected question: ${message}`));
    return Promise.resolve(queue.shift() as T);
  };
  const prompts: Prompts = {
    input: (c) => next(c.message),
    password: (c) => next(c.message),
    confirm: (c) => next(c.message),
    select: (c) => next(c.message),
    checkbox: (c) => next(c.message),
    say: (text) => asked.push(`say: ${text}`),
  };
  return { prompts, asked, left: () => queue.length };
}
