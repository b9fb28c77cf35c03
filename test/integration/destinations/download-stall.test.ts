/**
 * An SFTP download whose server stops sending while the connection stays up (the server's SFTP
 * process hangs, say on a dead disk, while sshd still answers keepalives) must fail with
 * TIMEOUT naming the file, not wait forever. The server's SFTP process for our connection is
 * stopped (SIGSTOP) once the first bytes have arrived.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SftpDestination } from '../../../core/destinations';
import { daemonUnavailable } from '../../../support/daemons';
import { startSshd, type SshdServer } from '../../../support/sshd';

const missing = daemonUnavailable('/usr/sbin/sshd', 'openssh-server');

/** The pids of sshd's SFTP processes serving `user` (`sshd: <user>@internal-sftp`). */
function sftpServersOf(user: string): number[] {
	const pids: number[] = [];
	for (const entry of readdirSync('/proc')) {
		if (!/^\d+$/.test(entry)) continue;
		try {
			if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(`${user}@internal-sftp`)) pids.push(Number(entry));
		} catch {
			// exited meanwhile
		}
	}
	return pids;
}

describe('SFTP download stall', () => {
	let sshd: SshdServer;
	let scratch: string;
	beforeAll(async () => {
		scratch = mkdtempSync(path.join(os.tmpdir(), 'totvs-download-stall-'));
		if (!missing) sshd = await startSshd();
	});
	afterAll(async () => {
		await sshd?.stop();
		rmSync(scratch, { recursive: true, force: true });
	});

	(missing ? it.skip : it)(
		missing
			? `skipped: ${missing}`
			: 'a server that stops sending mid-download: TIMEOUT naming the file after the timeout, nothing under the local name',
		async () => {
			const file = path.join(scratch, 'database.dump');
			writeFileSync(file, randomBytes(32 * 1024 * 1024));
			const destination = new SftpDestination({
				type: 'sftp',
				host: sshd.host,
				port: sshd.port,
				username: sshd.user.name,
				password: sshd.user.password,
				hostKeySha256: sshd.hostKeySha256,
				folder: sshd.user.home,
				timeoutMs: 3000,
				transport: 'ssh2',
			});
			const stopped: number[] = [];
			const target = path.join(scratch, 'back', 'database.dump');
			try {
				await destination.put(file, 'stall/database.dump');
				const started = Date.now();
				const outcome = await Promise.race([
					destination
						.get('stall/database.dump', target, {
							onProgress: () => {
								if (stopped.length) return;
								for (const pid of sftpServersOf(sshd.user.name)) {
									process.kill(pid, 'SIGSTOP');
									stopped.push(pid);
								}
							},
						})
						.then(
							() => 'finished',
							(reason: unknown) => reason,
						),
					new Promise((resolve) => setTimeout(() => resolve('still waiting after 30 s'), 30_000)),
				]);
				expect(stopped).toHaveLength(1);
				expect(outcome).toMatchObject({
					code: 'TIMEOUT',
					message: expect.stringMatching(/No data .* 3 s .*stall\/database\.dump/),
				});
				expect(Date.now() - started).toBeLessThan(20_000);
				expect(existsSync(target)).toBe(false);
				expect(readdirSync(path.dirname(target))).toEqual([]);
			} finally {
				for (const pid of stopped) process.kill(pid, 'SIGCONT');
				await destination.close();
			}
		},
	);
});
