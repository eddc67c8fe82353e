import type { Endpoint } from '../task/types.js';
import { ALL_MODES, finding, type Check, type Draft } from './check.js';

function endpointFindings(side: 'source' | 'target' | 'source.primary', e: Endpoint): Draft[] {
  const out: Draft[] = [];
  if (e.password.kind === 'inline') {
    const variable =
      side === 'target'
        ? 'DTS_TARGET_PASSWORD'
        : side === 'source'
          ? 'DTS_SOURCE_PASSWORD'
          : 'DTS_PRIMARY_PASSWORD';
    out.push(
      finding(
        'warn',
        'the password is written in the task file (in password: or inside the url)',
        side,
        `replace it with password: \${${variable}} and export ${variable}, or use passwordFile or ~/.pgpass`,
      ),
    );
  }
  if (e.ssh && e.ssh.knownHosts === undefined) {
    out.push(
      finding(
        'warn',
        `the ssh bastion ${e.ssh.host}'s host key is not pinned: any host answering there is trusted`,
        side,
        'set ssh.knownHosts to a known_hosts file that lists the bastion (ssh-keyscan, checked out of band)',
      ),
    );
  }
  return out;
}

/** Reads only the task file: secrets written in it, and ssh tunnels that trust any host key. */
export const taskSecrets: Check = {
  id: 'task.secrets',
  severities: 'WARN for a password written in the task file, or an ssh bastion without knownHosts',
  title: 'Secrets kept out of the task file',
  modes: ALL_MODES,
  passMessage: 'passwords are references, files or ~/.pgpass; ssh host keys are pinned',
  assess(_facts, task) {
    return [
      ...endpointFindings('source', task.source),
      ...(task.sourcePrimary ? endpointFindings('source.primary', task.sourcePrimary) : []),
      ...endpointFindings('target', task.target),
    ];
  },
};
