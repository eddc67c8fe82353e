import type { Mode } from '../../task/types.js';
import { askEndpoint, type AnsweredEndpoint } from './ask-endpoint.js';
import type { Prompts } from './prompts.js';

/**
 * The primary of a source found to be a standby (`pg_is_in_recovery()`); never asked otherwise. A standby is
 * read-only, so for full+incremental the publication must be made on its primary: the question is then
 * required. For mode full it is offered (the primary's snapshot record lets the slot be made at once); a
 * structure-only task makes no slot and is not asked. A physical standby has the primary's roles, so an
 * empty password means the source's password entry.
 */
export async function askPrimary(
  prompts: Prompts,
  mode: Mode,
  standby: boolean,
  source: AnsweredEndpoint,
): Promise<AnsweredEndpoint | undefined> {
  if (!standby || mode === 'structure') return undefined;
  prompts.say(
    'The source is a standby (in recovery): dts creates the publication on its primary and asks the ' +
      'primary for a snapshot record so the slot on the standby is made at once.',
  );
  if (mode !== 'full+incremental') {
    const named = await prompts.confirm({
      message: `Name the primary? (optional for mode ${mode}; without it the start waits for the primary's next snapshot record)`,
      default: true,
    });
    if (!named) return undefined;
  }
  const primary = await askEndpoint(prompts, 'primary', "the source's");
  if (primary.choice.kind !== 'none' || source.file.password === undefined) return primary;
  return {
    file: { ...primary.file, password: source.file.password },
    password: source.password,
    choice: source.choice,
  };
}
