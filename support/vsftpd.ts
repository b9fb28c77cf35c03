/**
 * Real vsftpd instances on loopback for the FTP tests: plain FTP, explicit FTPS (AUTH TLS) and
 * implicit FTPS, sharing one test system user and one self-signed certificate made with openssl
 * for 127.0.0.1. Settings that work here (see /work/shared/SERVERS.md): seccomp_sandbox=NO,
 * an existing secure_chroot_dir, a non-root user.
 */
import { execFileSync } from 'node:child_process';
import { promises as fsp, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
	createTestUser,
	daemonUnavailable,
	freePort,
	spawnDaemon,
	waitForPort,
	type Daemon,
	type TestUser,
} from './daemons';

export type VsftpdMode = 'none' | 'explicit' | 'implicit';

export interface VsftpdInstance {
	mode: VsftpdMode;
	port: number;
}

export interface VsftpdServers {
	host: '127.0.0.1';
	user: TestUser;
	plain: VsftpdInstance;
	explicit: VsftpdInstance;
	implicit: VsftpdInstance;
	/** The servers' self-signed certificate (PEM) and its SHA-256 fingerprint (AA:BB:…). */
	certPem: string;
	certSha256: string;
	/** A different self-signed certificate, trusted by nobody: for "wrong CA / fingerprint" tests. */
	otherCertPem: string;
	otherCertSha256: string;
	dir: string;
	stop(): Promise<void>;
}

export function vsftpdUnavailable(): string | undefined {
	return daemonUnavailable('/usr/sbin/vsftpd', 'vsftpd') ?? daemonUnavailable('openssl', 'openssl');
}

function makeCertificate(
	dir: string,
	name: string,
): { certFile: string; keyFile: string; pem: string; sha256: string } {
	const certFile = path.join(dir, `${name}.pem`);
	const keyFile = path.join(dir, `${name}.key`);
	execFileSync(
		'openssl',
		[
			'req',
			'-x509',
			'-newkey',
			'rsa:2048',
			'-nodes',
			'-keyout',
			keyFile,
			'-out',
			certFile,
			'-days',
			'2',
			'-subj',
			'/CN=127.0.0.1',
			'-addext',
			'subjectAltName=IP:127.0.0.1',
		],
		{ stdio: 'pipe' },
	);
	const fingerprint = execFileSync('openssl', ['x509', '-noout', '-fingerprint', '-sha256', '-in', certFile], {
		encoding: 'utf8',
	});
	return { certFile, keyFile, pem: readFileSync(certFile, 'utf8'), sha256: fingerprint.split('=')[1].trim() };
}

async function startInstance(
	dir: string,
	mode: VsftpdMode,
	cert: { certFile: string; keyFile: string },
	pasvBase: number,
): Promise<{ instance: VsftpdInstance; daemon: Daemon }> {
	const port = await freePort();
	const emptyDir = path.join(dir, 'empty');
	await fsp.mkdir(emptyDir, { recursive: true, mode: 0o755 });
	const lines = [
		'listen=YES',
		'listen_ipv6=NO',
		'listen_address=127.0.0.1',
		`listen_port=${port}`,
		'background=NO',
		'anonymous_enable=NO',
		'local_enable=YES',
		'write_enable=YES',
		'local_umask=027',
		'seccomp_sandbox=NO',
		'pam_service_name=vsftpd',
		`secure_chroot_dir=${emptyDir}`,
		'pasv_enable=YES',
		'pasv_address=127.0.0.1',
		`pasv_min_port=${pasvBase}`,
		`pasv_max_port=${pasvBase + 40}`,
		'port_enable=NO',
		'force_dot_files=YES',
		'xferlog_enable=NO',
		`vsftpd_log_file=${path.join(dir, `vsftpd-${mode}.log`)}`,
		'max_clients=0',
		'max_per_ip=0',
		'idle_session_timeout=120',
		'data_connection_timeout=60',
	];
	if (mode !== 'none') {
		lines.push(
			'ssl_enable=YES',
			`rsa_cert_file=${cert.certFile}`,
			`rsa_private_key_file=${cert.keyFile}`,
			'force_local_logins_ssl=YES',
			'force_local_data_ssl=YES',
			'allow_anon_ssl=NO',
			'ssl_tlsv1=YES',
			'ssl_sslv2=NO',
			'ssl_sslv3=NO',
		);
	}
	if (mode === 'implicit') lines.push('implicit_ssl=YES');
	const configFile = path.join(dir, `vsftpd-${mode}.conf`);
	await fsp.writeFile(configFile, `${lines.join('\n')}\n`, { mode: 0o600 });
	const daemon = spawnDaemon('/usr/sbin/vsftpd', [configFile]);
	await waitForPort(port, daemon, `vsftpd (${mode})`);
	return { instance: { mode, port }, daemon };
}

export async function startVsftpd(): Promise<VsftpdServers> {
	const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'totvs-vsftpd-'));
	const user = await createTestUser();
	const cert = makeCertificate(dir, 'server');
	const other = makeCertificate(dir, 'other');
	// Three passive port ranges of 41 ports each, somewhere random to keep parallel runs apart.
	const base = 20000 + Math.floor(Math.random() * 800) * 50;
	const started: Daemon[] = [];
	try {
		const plain = await startInstance(dir, 'none', cert, base);
		started.push(plain.daemon);
		const explicit = await startInstance(dir, 'explicit', cert, base + 50);
		started.push(explicit.daemon);
		const implicit = await startInstance(dir, 'implicit', cert, base + 100);
		started.push(implicit.daemon);
		return {
			host: '127.0.0.1',
			user,
			plain: plain.instance,
			explicit: explicit.instance,
			implicit: implicit.instance,
			certPem: cert.pem,
			certSha256: cert.sha256,
			otherCertPem: other.pem,
			otherCertSha256: other.sha256,
			dir,
			async stop() {
				for (const daemon of started) await daemon.stop();
				user.remove();
				await fsp.rm(dir, { recursive: true, force: true });
			},
		};
	} catch (error) {
		for (const daemon of started) await daemon.stop();
		user.remove();
		throw error;
	}
}
