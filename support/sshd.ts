/**
 * A real OpenSSH sshd on a free loopback port, with a host key, a client key pair (with a
 * passphrase) and a system user with a password, all made for the test. Runs as root with its
 * own config (`-f`), `StrictModes no` (temporary folders fail its ownership checks).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fsp, mkdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createTestUser, freePort, spawnDaemon, waitForPort, type Daemon, type TestUser } from './daemons';

export interface SshdServer {
	host: '127.0.0.1';
	port: number;
	user: TestUser;
	/** `SHA256:…` as `ssh-keygen -lf` prints it. */
	hostKeySha256: string;
	/** Another key's fingerprint, for "changed host key" tests. */
	otherHostKeySha256: string;
	/** An authorized client key (OpenSSH format), encrypted with `clientKeyPassphrase`. */
	clientKey: string;
	clientKeyPassphrase: string;
	/** The same key pair's private key file path (for OpenSSH's own `sftp` in the benchmark). */
	clientKeyFile: string;
	/** An unencrypted authorized key file, for `sftp -b` (no passphrase prompt). */
	plainClientKeyFile: string;
	knownHostsFile: string;
	dir: string;
	/**
	 * Another sshd with the same users and keys but the OTHER host key, on its own port: the
	 * server a man in the middle would put in front of the client.
	 */
	startImpostor(): Promise<{ port: number; stop(): Promise<void> }>;
	stop(): Promise<void>;
}

/** The TOTVS SFTP credential's data for this server: the client key with its passphrase, the pinned host key. */
export function sftpCredentialData(sshd: SshdServer): Record<string, string | number | boolean> {
	return {
		host: sshd.host,
		port: sshd.port,
		username: sshd.user.name,
		authentication: 'privateKey',
		privateKey: sshd.clientKey,
		passphrase: sshd.clientKeyPassphrase,
		hostFingerprint: sshd.hostKeySha256,
		folder: '',
		remoteHash: true,
	};
}

function keygen(file: string, passphrase = ''): string {
	// ssh-keygen only takes the passphrase as an argument; it is a throwaway test key.
	execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', passphrase, '-C', 'totvs-test', '-f', file]);
	return execFileSync('ssh-keygen', ['-lf', `${file}.pub`], { encoding: 'utf8' }).split(' ')[1];
}

export async function startSshd(): Promise<SshdServer> {
	mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
	const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'totvs-sshd-'));
	// sshd reads authorized_keys as the user: the folder must be searchable by others.
	await fsp.chmod(dir, 0o755);
	const user = await createTestUser();
	const hostKeySha256 = keygen(path.join(dir, 'host_key'));
	const otherHostKeySha256 = keygen(path.join(dir, 'other_host_key'));
	const clientKeyPassphrase = randomBytes(9).toString('base64url');
	keygen(path.join(dir, 'client_key'), clientKeyPassphrase);
	keygen(path.join(dir, 'plain_client_key'));
	const authorized = path.join(dir, 'authorized_keys');
	await fsp.writeFile(
		authorized,
		readFileSync(path.join(dir, 'client_key.pub'), 'utf8') +
			readFileSync(path.join(dir, 'plain_client_key.pub'), 'utf8'),
		{ mode: 0o644 },
	);
	const port = await freePort();
	const config = (listenPort: number, hostKey: string) =>
		[
			`Port ${listenPort}`,
			'ListenAddress 127.0.0.1',
			`HostKey ${path.join(dir, hostKey)}`,
			`AuthorizedKeysFile ${authorized}`,
			`PidFile ${path.join(dir, `sshd-${listenPort}.pid`)}`,
			'StrictModes no',
			'UsePAM no',
			'PasswordAuthentication yes',
			'KbdInteractiveAuthentication no',
			'PubkeyAuthentication yes',
			`AllowUsers ${user.name}`,
			'Subsystem sftp internal-sftp',
			'LogLevel ERROR',
			'MaxStartups 100',
			'MaxSessions 100',
		].join('\n');
	const start = async (listenPort: number, hostKey: string): Promise<Daemon> => {
		const configFile = path.join(dir, `sshd_config-${listenPort}`);
		await fsp.writeFile(configFile, `${config(listenPort, hostKey)}\n`, { mode: 0o600 });
		const daemon = spawnDaemon('/usr/sbin/sshd', ['-D', '-e', '-f', configFile]);
		await waitForPort(listenPort, daemon, 'sshd');
		return daemon;
	};
	const knownHostsFile = path.join(dir, 'known_hosts');
	await fsp.writeFile(knownHostsFile, `[127.0.0.1]:${port} ${readFileSync(path.join(dir, 'host_key.pub'), 'utf8')}`);
	const daemon = await start(port, 'host_key');
	const impostors: Daemon[] = [];
	return {
		host: '127.0.0.1',
		port,
		user,
		hostKeySha256,
		otherHostKeySha256,
		clientKey: readFileSync(path.join(dir, 'client_key'), 'utf8'),
		clientKeyPassphrase,
		clientKeyFile: path.join(dir, 'client_key'),
		plainClientKeyFile: path.join(dir, 'plain_client_key'),
		knownHostsFile,
		dir,
		async startImpostor() {
			const impostorPort = await freePort();
			const impostor = await start(impostorPort, 'other_host_key');
			impostors.push(impostor);
			return { port: impostorPort, stop: () => impostor.stop() };
		},
		async stop() {
			await Promise.all(impostors.map((impostor) => impostor.stop()));
			await daemon.stop();
			user.remove();
			await fsp.rm(dir, { recursive: true, force: true });
		},
	};
}
