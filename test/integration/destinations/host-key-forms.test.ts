/**
 * The pinned SFTP host key as users paste it: the whole line `ssh-keygen -lf` prints (bits,
 * fingerprint, comment, type), several lines of `ssh-keyscan host | ssh-keygen -lf -`, and
 * OpenSSH's MD5 form (accepted, with a note that SHA256 is preferred). Anything else is
 * refused up front with the accepted forms, not later as a host key mismatch.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { checkDestination, SftpDestination, type SftpConfig } from '../../../core/destinations';
import { BackupError } from '../../../core/errors';
import { daemonUnavailable } from '../../../support/daemons';
import { startSshd, type SshdServer } from '../../../support/sshd';

const missing = daemonUnavailable('/usr/sbin/sshd', 'openssh-server');
const test = missing ? it.skip : it;
const title = (what: string) => (missing ? `skipped: ${missing} (${what})` : what);

describe('SFTP host key fingerprints as users paste them', () => {
	let sshd: SshdServer;
	/** What `ssh-keygen -lf` prints for a public key file, with `-E md5` when asked. */
	const keygenLine = (file: string, md5 = false) =>
		execFileSync('ssh-keygen', [...(md5 ? ['-E', 'md5'] : []), '-lf', path.join(sshd.dir, file)], {
			encoding: 'utf8',
		}).trim();
	const config = (hostKeySha256: string): SftpConfig => ({
		type: 'sftp',
		host: sshd.host,
		port: sshd.port,
		username: sshd.user.name,
		password: sshd.user.password,
		hostKeySha256,
		folder: sshd.user.home,
		timeoutMs: 10_000,
		transport: 'ssh2',
	});
	const connects = async (pin: string) => {
		const destination = new SftpDestination(config(pin));
		try {
			return await destination.list('');
		} finally {
			await destination.close();
		}
	};

	beforeAll(async () => {
		if (!missing) sshd = await startSshd();
	});
	afterAll(async () => sshd?.stop());

	test(title('the whole `ssh-keygen -lf` line (bits, SHA256, comment, key type) is accepted'), async () => {
		const line = keygenLine('host_key.pub');
		expect(line).toMatch(/^\d+ SHA256:\S+ .*\(\w+\)$/);
		await expect(connects(line)).resolves.toEqual(expect.any(Array));
	});

	test(title('several lines (`ssh-keyscan host | ssh-keygen -lf -`): the server may present any of them'), async () => {
		const lines = `${keygenLine('other_host_key.pub')}\n${keygenLine('host_key.pub')}\n`;
		await expect(connects(lines)).resolves.toEqual(expect.any(Array));
	});

	test(
		title(
			"OpenSSH's MD5 form is accepted, compared with the key's MD5, and the credential test says SHA256 is preferred",
		),
		async () => {
			const line = keygenLine('host_key.pub', true);
			expect(line).toMatch(/^\d+ MD5:([0-9a-f]{2}:){15}[0-9a-f]{2} /);
			await expect(connects(line)).resolves.toEqual(expect.any(Array));
			// The bare hex pairs, as older ssh-keygen printed them.
			const bare = /MD5:(\S+)/.exec(line)![1];
			await expect(connects(bare)).resolves.toEqual(expect.any(Array));
			const check = await checkDestination(config(line));
			expect(check.notes).toEqual([expect.stringMatching(/MD5.*SHA256 is preferred/)]);
		},
	);

	test(title('an MD5 pin of another key is refused, naming the key the server showed in both forms'), async () => {
		const other = keygenLine('other_host_key.pub', true);
		const error = await connects(other).then(
			() => undefined,
			(reason: unknown) => reason,
		);
		expect(error).toBeInstanceOf(BackupError);
		expect(error).toMatchObject({ code: 'HOST_KEY_MISMATCH' });
		expect((error as BackupError).message).toContain(sshd.hostKeySha256);
		expect((error as BackupError).message).toContain(/MD5:(\S+)/.exec(keygenLine('host_key.pub', true))![0]);
	});

	test(title('anything else is refused before connecting, with the forms that are accepted'), async () => {
		for (const garbage of ['hello world', 'SHA256:tooshort', 'MD5:aa:bb', '256 (ED25519)', 'zz:'.repeat(15) + 'zz']) {
			const error = (() => {
				try {
					new SftpDestination(config(garbage));
					return undefined;
				} catch (reason) {
					return reason;
				}
			})();
			expect({ garbage, error }).toEqual({ garbage, error: expect.any(BackupError) });
			expect(error).toMatchObject({
				code: 'INVALID_INPUT',
				message: expect.stringContaining('fingerprint'),
				hint: expect.stringMatching(/ssh-keygen -lf/),
			});
		}
	});
});
