// Writes schema/task.schema.json from the zod task schema; a unit test fails when the committed copy drifts.
import { writeFileSync } from 'node:fs';
import { taskJsonSchemaText } from '../src/task/json-schema.js';

writeFileSync(new URL('../schema/task.schema.json', import.meta.url), taskJsonSchemaText());
console.log('wrote schema/task.schema.json');
