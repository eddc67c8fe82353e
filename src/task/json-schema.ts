import { z } from 'zod';
import { taskFileSchema } from './file-schema.js';

/** The JSON Schema editors use for task files, generated from the same zod schema that validates them. */
export function taskJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(taskFileSchema, { io: 'input', target: 'draft-2020-12' }) as Record<
    string,
    unknown
  >;
  return { ...schema, $id: 'https://dts.invalid/schema/task.schema.json', title: 'dts task file' };
}

/** The committed file's exact text. */
export function taskJsonSchemaText(): string {
  return JSON.stringify(taskJsonSchema(), null, 2) + '\n';
}
