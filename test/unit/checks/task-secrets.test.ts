import { describe, expect, it } from 'vitest';
import { taskSecrets } from '../../../src/checks/task-secrets.js';
import { Secret } from '../../../src/task/secret.js';
import { judge } from './assess.js';
import { facts, task } from './fixtures.js';

describe('task.secrets', () => {
  it('passes references', () => {
    expect(judge(taskSecrets, facts(), task())).toEqual([
      { severity: 'pass', message: 'passwords are references, files or ~/.pgpass; ssh host keys are pinned' },
    ]);
  });

  it('warns about an inline password and an unpinned bastion, without echoing the password', () => {
    const t = task();
    const findings = judge(taskSecrets, facts(), {
      ...t,
      source: { ...t.source, password: { kind: 'inline', value: new Secret('pw-in-file-1') } },
      target: {
        ...t.target,
        ssh: { host: 'bastion.example', port: 22, user: 'ops', privateKey: '/k', knownHosts: undefined },
      },
    });
    expect(findings).toEqual([
      {
        severity: 'warn',
        object: 'source',
        message: 'the password is written in the task file (in password: or inside the url)',
        fix: 'replace it with password: ${DTS_SOURCE_PASSWORD} and export DTS_SOURCE_PASSWORD, or use passwordFile or ~/.pgpass',
      },
      {
        severity: 'warn',
        object: 'target',
        message:
          "the ssh bastion bastion.example's host key is not pinned: any host answering there is trusted",
        fix: 'set ssh.knownHosts to a known_hosts file that lists the bastion (ssh-keyscan, checked out of band)',
      },
    ]);
    expect(JSON.stringify(findings)).not.toContain('pw-in-file-1');
  });
});
