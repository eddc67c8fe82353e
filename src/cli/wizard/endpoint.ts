import { stringify } from 'yaml';
import type { EndpointFile } from '../../task/file-schema.js';
import { parseTask } from '../../task/parse.js';
import type { Secret } from '../../task/secret.js';
import type { Endpoint } from '../../task/types.js';

/**
 * The Endpoint an answered server connects as, normalised by the task parser itself (URL parts, defaults
 * for user, port and database), so the wizard connects exactly where the written file will. The password
 * typed in the wizard is used from memory, whatever the file says about it.
 */
export function endpointFor(
  file: EndpointFile,
  password: Secret | undefined,
  env: NodeJS.ProcessEnv,
): Endpoint {
  // The parser works on whole task files; this stub is never written anywhere.
  const { password: _ref, ...where } = file;
  const text = stringify({ name: 'wizard', mode: 'structure', source: where, target: where });
  const task = parseTask(text, { file: 'wizard.yaml', env });
  return password === undefined
    ? task.source
    : { ...task.source, password: { kind: 'inline', value: password } };
}
