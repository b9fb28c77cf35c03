/**
 * FTP and FTPS (basic-ftp): plain, explicit TLS (AUTH TLS) and implicit TLS. Certificates are
 * validated by default against the system CAs; a user can add a CA / self-signed certificate
 * (PEM) or pin the server certificate's SHA-256 fingerprint. Nothing is ever accepted silently:
 * with a pinned fingerprint the certificate is checked before the password is sent, and data
 * connections are then validated against that same certificate.
 *
 * Passive mode (basic-ftp uses EPSV / PASV only). Verification by HASH / XSHA256 / XMD5 when
 * the server offers them (vsftpd does not), else by size, or a read-back when asked.
 */
import { createHash, randomBytes, X509Certificate } from 'node:crypto';
import { createReadStream, promises as fsp } from 'node:fs';
import { PassThrough, Readable, Writable } from 'node:stream';
import type { ConnectionOptions, PeerCertificate, TLSSocket } from 'node:tls';
import { Client, FTPError, type FileInfo } from 'basic-ftp';
import { BackupError } from '../../errors';
import {
	baseName,
	normalizeRemotePath,
	parentOf,
	partialName,
	type Destination,
	type FtpConfig,
	type GetResult,
	type PutOptions,
	type PutResult,
	type RemoteEntry,
	type RemoteFileInfo,
	type StatOptions,
	type TransferOptions,
	type VerificationMethod,
} from '../destination';
import { downloadToLocal } from '../local-download';
import { abortError, checkRemoteCopy, DigestingMeter, hashFileInWorker } from '../verification';

/** Uppercase hex with ':' separators, the form Node and `openssl x509 -fingerprint` use. */
export function normalizeCertFingerprint(value: string): string {
	const hex = value
		.replace(/^sha256\s*(fingerprint)?\s*=?\s*/i, '')
		.replace(/[^0-9a-f]/gi, '')
		.toUpperCase();
	return hex.match(/.{2}/g)?.join(':') ?? '';
}

function certificateChainPem(peer: PeerCertificate & { issuerCertificate?: PeerCertificate }): string[] {
	const pems: string[] = [];
	const seen = new Set<string>();
	for (
		let cert: (PeerCertificate & { issuerCertificate?: PeerCertificate }) | undefined = peer;
		cert?.raw && !seen.has(cert.fingerprint256);
		cert = cert.issuerCertificate
	) {
		seen.add(cert.fingerprint256);
		pems.push(new X509Certificate(cert.raw).toString());
	}
	return pems;
}

export class FtpDestination implements Destination {
	readonly kind = 'ftp' as const;
	readonly exclusiveCreate = 'check-then-rename' as const;
	private client?: Client;
	private root = '/';
	private features = new Map<string, string>();
	/** basic-ftp runs one command at a time: every operation queues behind the previous one. */
	private queue: Promise<unknown> = Promise.resolve();
	private readonly pinned?: string;
	private readonly port: number;

	constructor(private readonly config: FtpConfig) {
		this.port = config.port ?? (config.tls === 'implicit' ? 990 : 21);
		this.pinned = config.certificateSha256 ? normalizeCertFingerprint(config.certificateSha256) : undefined;
		if (config.certificateSha256 && this.pinned?.length !== 95) {
			throw new BackupError(
				'INVALID_INPUT',
				`"${config.certificateSha256}" is not a SHA-256 certificate fingerprint`,
				'Give 64 hex digits (colons optional), as `openssl x509 -noout -fingerprint -sha256 -in cert.pem` prints them.',
			);
		}
		if (config.tls === 'none' && (config.caPem || config.certificateSha256)) {
			throw new BackupError(
				'INVALID_INPUT',
				'A CA or certificate fingerprint was given for a plain (unencrypted) FTP connection',
				'Choose explicit or implicit TLS, or remove the certificate settings.',
			);
		}
	}

	describe(): string {
		const scheme = this.config.tls === 'none' ? 'ftp' : this.config.tls === 'implicit' ? 'ftps' : 'ftpes';
		const folder = this.config.folder ? `/${this.config.folder.replace(/^\/+/, '')}` : '';
		return `${scheme}://${this.config.username}@${this.config.host}:${this.port}${folder}`;
	}

	private where(rel: string): string {
		return `${this.describe()}/${rel}`;
	}

	private exclusive<T>(operation: (client: Client) => Promise<T>): Promise<T> {
		const run = this.queue.then(() => this.watched(async () => operation(await this.connect())));
		this.queue = run.catch(() => undefined);
		return run;
	}

	/** Set while we wait on local work (hashing a large file), which is not the server's silence. */
	private localWork = 0;

	/**
	 * Runs an operation under a last-resort watchdog: basic-ftp's own timeouts cover a silent
	 * server in most states, but not all of them (it never times out while it believes it is
	 * waiting for our side). If neither the control nor the data connection moves a byte for
	 * three timeouts in a row, the connection is closed and the operation fails with TIMEOUT
	 * rather than hang the workflow. Closing gives the operation a moment to find the cause
	 * itself (an upload checks for a full disk on a new connection): a specific finding such as
	 * DISK_FULL is kept, anything vaguer becomes the TIMEOUT.
	 */
	private watched<T>(operation: () => Promise<T>): Promise<T> {
		const limitMs = 3 * (this.config.timeoutMs ?? 30_000);
		const activity = () => {
			const ftp = this.client?.ftp;
			const sockets = [ftp?.socket, ftp?.dataSocket];
			return (
				sockets.reduce((sum, socket) => sum + (socket ? socket.bytesRead + socket.bytesWritten : 0), 0) + this.localWork
			);
		};
		let timedOut: BackupError | undefined;
		let stop = () => {};
		const stalled = new Promise<never>((_resolve, reject) => {
			let last = activity();
			let quietSince = Date.now();
			let grace: NodeJS.Timeout | undefined;
			const timer = setInterval(
				() => {
					const now = activity();
					if (now !== last || this.localWork > 0) {
						last = now;
						quietSince = Date.now();
					} else if (Date.now() - quietSince >= limitMs) {
						clearInterval(timer);
						timedOut = new BackupError(
							'TIMEOUT',
							`No reply or data from ${this.describe()} for ${Math.round(limitMs / 1000)} s; connection closed`,
							'Check the server and the network (a firewall dropping idle connections, a full or hung server), then run again: nothing incomplete is left under a final name.',
						);
						const error = timedOut;
						this.client?.close();
						grace = setTimeout(() => reject(error), limitMs / 3);
					}
				},
				Math.min(1000, limitMs / 4),
			);
			timer.unref();
			stop = () => {
				clearInterval(timer);
				clearTimeout(grace);
			};
		});
		const vague = (error: unknown) =>
			!(error instanceof BackupError) || ['TRANSFER_FAILED', 'UNREACHABLE', 'TIMEOUT'].includes(error.code);
		const outcome = operation().catch((error: unknown) => {
			throw timedOut && vague(error) ? timedOut : error;
		});
		return Promise.race([outcome, stalled]).finally(stop);
	}

	/* ---------------------------------------------------------------- connection and TLS */

	/**
	 * TLS options for control and data connections. A pinned fingerprint becomes a trust anchor:
	 * the certificate is fetched first on a connection that sends nothing (no login), its
	 * fingerprint compared, and only then used as the CA for the real connections, whose
	 * handshakes are validated normally (data connections resume that validated session).
	 */
	private async tlsOptions(): Promise<ConnectionOptions> {
		const options: ConnectionOptions = {
			host: this.config.host,
			servername: /^[\d.:]+$/.test(this.config.host) ? undefined : this.config.host,
			minVersion: 'TLSv1.2',
		};
		if (this.config.caPem) options.ca = this.config.caPem;
		if (this.pinned) {
			if (!this.config.caPem) {
				const peer = await this.probeCertificate();
				if (normalizeCertFingerprint(peer.fingerprint256 ?? '') !== this.pinned)
					throw this.fingerprintError(peer.fingerprint256);
				options.ca = certificateChainPem(peer);
			}
			// The pinned certificate is what identifies the server, whatever name it was issued for.
			options.checkServerIdentity = (_host, cert) =>
				normalizeCertFingerprint(cert.fingerprint256) === this.pinned
					? undefined
					: this.fingerprintError(cert.fingerprint256);
		}
		return options;
	}

	private fingerprintError(seen: string): BackupError {
		return new BackupError(
			'TLS_CERTIFICATE',
			`The TLS certificate of ${this.config.host}:${this.port} has SHA-256 fingerprint ${seen}, but ${this.pinned} is pinned; connection refused before logging in`,
			'If the server certificate was renewed, check the new fingerprint with the server administrator and update it in the credential. Otherwise someone may be intercepting the connection.',
		);
	}

	private async connect(): Promise<Client> {
		if (this.client && !this.client.closed) return this.client;
		const client = new Client(this.config.timeoutMs ?? 30_000);
		try {
			const tls = this.config.tls !== 'none' ? await this.tlsOptions() : undefined;
			if (this.config.tls === 'implicit') await client.connectImplicitTLS(this.config.host, this.port, tls);
			else await client.connect(this.config.host, this.port);
			if (this.config.tls === 'explicit') await client.useTLS(tls);
			await client.sendIgnoringError('OPTS UTF8 ON');
			await client.login(this.config.username, this.config.password);
			await client.useDefaultSettings();
			this.features = await client.features();
			const home = await client.pwd();
			const folder = this.config.folder?.trim();
			this.root =
				(folder ? (folder.startsWith('/') ? folder : `${home.replace(/\/$/, '')}/${folder}`) : home).replace(
					/\/+$/,
					'',
				) || '/';
			try {
				await client.cd(this.root);
			} catch (error) {
				throw new BackupError(
					'SET_NOT_FOUND',
					`Folder "${this.root}" does not exist on ${this.describe()}`,
					'Create the folder on the server, or fix the folder in the destination settings.',
					{ cause: error },
				);
			}
			this.client = client;
			return client;
		} catch (error) {
			client.close();
			throw await this.connectError(error);
		}
	}

	private async connectError(error: unknown): Promise<BackupError> {
		if (error instanceof BackupError) return error;
		const message = (error as Error).message ?? String(error);
		const code = (error as { code?: unknown }).code;
		if (error instanceof FTPError && error.code === 530) {
			return new BackupError(
				'AUTH_FAILED',
				`Login as "${this.config.username}" refused by ${this.describe()}`,
				'Check the username and password in the FTP credential.',
				{ cause: error },
			);
		}
		if (typeof code === 'string' && /CERT|SELF_SIGNED|UNABLE_TO|ERR_TLS|HOSTNAME/.test(code)) {
			const seen = await this.probeCertificate().then(
				(peer) => peer.fingerprint256,
				() => undefined,
			);
			return new BackupError(
				'TLS_CERTIFICATE',
				`The TLS certificate of ${this.config.host}:${this.port} was not accepted (${code}: ${message})${seen ? `; its SHA-256 fingerprint is ${seen}` : ''}`,
				'If the server uses a self-signed or private-CA certificate, add that CA (PEM) or pin the certificate fingerprint in the credential, after confirming it with the server administrator.',
				{ cause: error },
			);
		}
		if (/timeout/i.test(message)) {
			return new BackupError(
				'TIMEOUT',
				`Timed out talking to ${this.describe()}: ${message}`,
				"Check host, port and firewall (passive mode needs the server's passive port range open too).",
				{ cause: error },
			);
		}
		if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EHOSTUNREACH' || code === 'ECONNRESET') {
			return new BackupError(
				'UNREACHABLE',
				`Cannot reach ${this.describe()}: ${message}`,
				'Check the host, port and TLS mode (implicit FTPS usually listens on 990, FTP and explicit FTPS on 21).',
				{ cause: error },
			);
		}
		return new BackupError(
			'UNREACHABLE',
			`Cannot use ${this.describe()}: ${message}`,
			'Check the host, port, TLS mode and credentials.',
			{ cause: error },
		);
	}

	/** The server's certificate chain, fetched on a connection that never logs in. */
	private async probeCertificate(): Promise<PeerCertificate> {
		const probe = new Client(this.config.timeoutMs ?? 30_000);
		try {
			const options: ConnectionOptions = { host: this.config.host, rejectUnauthorized: false };
			if (this.config.tls === 'implicit') await probe.connectImplicitTLS(this.config.host, this.port, options);
			else {
				await probe.connect(this.config.host, this.port);
				await probe.useTLS(options);
			}
			return (probe.ftp.socket as TLSSocket).getPeerCertificate(true);
		} finally {
			probe.close();
		}
	}

	private abs(rel: string): string {
		return rel ? (this.root === '/' ? `/${rel}` : `${this.root}/${rel}`) : this.root;
	}

	private async fileError(error: unknown, action: string, rel: string): Promise<BackupError> {
		if (error instanceof BackupError) return error;
		const where = this.where(rel);
		if (error instanceof FTPError) {
			if (error.code === 452 || error.code === 552 || /No space|quota|Failure writing/i.test(error.message)) {
				return new BackupError(
					'DISK_FULL',
					`The FTP server could not store ${where}: ${error.message}`,
					"Free space on the server (run Prune) or raise the user's quota.",
					{ cause: error },
				);
			}
			if (error.code === 550 || error.code === 553) {
				return new BackupError(
					'PERMISSION_DENIED',
					`The FTP server refused to ${action} ${where}: ${error.message}`,
					'Check that the folder exists and the FTP user may write there (write_enable on vsftpd).',
					{ cause: error },
				);
			}
		}
		if (this.client?.closed !== false || /timeout|closed|ECONNRESET|EPIPE/i.test((error as Error).message)) {
			return new BackupError(
				'TRANSFER_FAILED',
				`Connection to ${this.describe()} failed while trying to ${action} ${where}: ${(error as Error).message}`,
				'Run again: the upload resumes or restarts, and nothing incomplete is left under the final name.',
				{ cause: error },
			);
		}
		return new BackupError(
			'TRANSFER_FAILED',
			`Could not ${action} ${where}: ${(error as Error).message}`,
			'Check the path and the server, then run again.',
			{ cause: error },
		);
	}

	/* ---------------------------------------------------------------- helpers */

	private async size(client: Client, absPath: string): Promise<number | undefined> {
		try {
			return await client.size(absPath);
		} catch (error) {
			if (error instanceof FTPError && error.code >= 500) return undefined;
			throw error;
		}
	}

	private async mkdirs(client: Client, relFolder: string): Promise<void> {
		let current = '';
		for (const part of relFolder ? relFolder.split('/') : []) {
			current = current ? `${current}/${part}` : part;
			const result = await client.sendIgnoringError(`MKD ${this.abs(current)}`);
			if (result.code >= 400) {
				// Already there, or a real refusal: CWD tells which.
				await client.cd(this.abs(current));
			}
		}
		await client.cd(this.root);
	}

	private async renameOver(client: Client, from: string, to: string): Promise<void> {
		try {
			await client.rename(from, to);
		} catch (error) {
			// Some servers refuse to rename onto an existing file.
			if (!(error instanceof FTPError) || (await this.size(client, to)) === undefined) throw error;
			await client.remove(to);
			await client.rename(from, to);
		}
	}

	/** A hash computed by the server, when it has a command for that. */
	private async remoteHash(client: Client, absPath: string): Promise<Pick<RemoteFileInfo, 'sha256' | 'md5'>> {
		const hex = (message: string, length: number) =>
			new RegExp(`\\b([0-9a-fA-F]{${length}})\\b`).exec(message.slice(4))?.[1]?.toLowerCase();
		const hashFeature = this.features.get('HASH');
		if (hashFeature !== undefined && /SHA-256/i.test(hashFeature)) {
			await client.sendIgnoringError('OPTS HASH SHA-256');
			const response = await client.sendIgnoringError(`HASH ${absPath}`);
			const value = response.code === 213 ? hex(response.message, 64) : undefined;
			if (value) return { sha256: value };
		}
		if (this.features.has('XSHA256')) {
			const response = await client.sendIgnoringError(`XSHA256 ${absPath}`);
			const value = response.code < 300 ? hex(response.message, 64) : undefined;
			if (value) return { sha256: value };
		}
		if (this.features.has('XMD5') || (hashFeature !== undefined && /MD5/i.test(hashFeature))) {
			const response = await client.sendIgnoringError(
				this.features.has('XMD5') ? `XMD5 ${absPath}` : `HASH ${absPath}`,
			);
			const value = response.code < 300 ? hex(response.message, 32) : undefined;
			if (value) return { md5: value };
		}
		return {};
	}

	/**
	 * After an upload's data connection broke: was it a full disk? A server that cannot write
	 * often just drops the data connection (vsftpd), and basic-ftp then reports that instead of
	 * the 451 reply. A small probe write tells: it gets the 451/452/552 a full disk gives.
	 */
	private async diskIsFull(relFolder: string): Promise<boolean> {
		const probe = this.abs(`${relFolder ? `${relFolder}/` : ''}.totvs-space-probe-${randomBytes(4).toString('hex')}`);
		try {
			const client = await this.connect();
			try {
				await client.uploadFrom(Readable.from([Buffer.alloc(64 * 1024)]), probe);
				return false;
			} catch (error) {
				return error instanceof FTPError && (error.code === 451 || error.code === 452 || error.code === 552);
			} finally {
				await client.remove(probe, true).catch(() => undefined);
			}
		} catch {
			return false;
		}
	}

	private canHashRemotely(): boolean {
		return this.features.has('XSHA256') || this.features.has('XMD5') || this.features.has('HASH');
	}

	/* ---------------------------------------------------------------- put */

	async put(localFile: string, remotePath: string, options: PutOptions = {}): Promise<PutResult> {
		const rel = normalizeRemotePath(remotePath);
		const started = Date.now();
		const localSize = (await fsp.stat(localFile)).size;
		if (localSize === 0 && this.config.tls !== 'none') {
			// vsftpd breaks a TLS data connection that carries no bytes (TLS alert or a hang);
			// backup artifacts, manifests and locks are never empty, so refuse clearly instead.
			throw new BackupError(
				'UNSUPPORTED_OPTION',
				`Cannot upload the empty file ${localFile} to ${this.where(rel)} over FTPS`,
				'Empty files are not uploaded over FTPS; leave them out of the set or use SFTP.',
			);
		}
		return this.exclusive(async (client) => {
			try {
				await this.mkdirs(client, parentOf(rel));
				const partial = this.abs(partialName(rel));
				// Resume (APPE) only when the whole result can then be proven by a hash.
				const existing = await this.size(client, partial);
				const canProve = this.canHashRemotely() || options.readBack === true;
				const offset = existing !== undefined && existing <= localSize && canProve ? existing : 0;
				let local = await this.upload(client, localFile, partial, offset, options);
				let remote: RemoteFileInfo = {
					size: (await this.size(client, partial)) ?? -1,
					...(await this.remoteHash(client, partial)),
				};
				if (options.readBack && !remote.sha256 && !remote.md5)
					remote.sha256 = await this.readBackSha256(client, partial);
				let verifiedBy: VerificationMethod;
				let resumedFrom = offset;
				try {
					verifiedBy = checkRemoteCopy(local, remote, this.where(rel));
				} catch (error) {
					if (offset === 0) throw error;
					resumedFrom = 0; // the resumed prefix was not ours: start over once
					local = await this.upload(client, localFile, partial, 0, options);
					remote = { size: (await this.size(client, partial)) ?? -1, ...(await this.remoteHash(client, partial)) };
					if (options.readBack && !remote.sha256 && !remote.md5)
						remote.sha256 = await this.readBackSha256(client, partial);
					verifiedBy = checkRemoteCopy(local, remote, this.where(rel));
				}
				if (verifiedBy === 'sha256' && options.readBack && !this.canHashRemotely()) verifiedBy = 'read-back';
				if (options.expectedSha256 && options.expectedSha256 !== local.sha256) {
					throw new BackupError(
						'VERIFY_FAILED',
						`Local file ${localFile} has SHA-256 ${local.sha256}, expected ${options.expectedSha256}`,
						'The staged file changed after it was made; run Verify on the set.',
					);
				}
				await this.renameOver(client, partial, this.abs(rel));
				return {
					remotePath: rel,
					bytes: local.bytes,
					sha256: local.sha256,
					verifiedBy,
					remote,
					resumedFrom,
					durationMs: Date.now() - started,
				};
			} catch (error) {
				if (!(error instanceof FTPError) && !(error instanceof BackupError) && (await this.diskIsFull(parentOf(rel)))) {
					throw new BackupError(
						'DISK_FULL',
						`The FTP server's disk is full: could not store ${this.where(rel)}`,
						"Free space on the server (run Prune) or raise the user's quota.",
						{ cause: error },
					);
				}
				throw await this.fileError(error, 'upload', rel);
			}
		});
	}

	/**
	 * Sends the local file from `offset` (APPE when resuming) while a worker thread hashes the
	 * whole file beside it, so hashing does not slow the transfer. Returns the file's digest.
	 */
	private async upload(client: Client, localFile: string, partial: string, offset: number, options: TransferOptions) {
		// MD5 only for a server that can give MD5 but not SHA-256.
		const hashFeature = this.features.get('HASH') ?? '';
		const md5Only =
			(this.features.has('XMD5') || /MD5/i.test(hashFeature)) &&
			!this.features.has('XSHA256') &&
			!/SHA-256/i.test(hashFeature);
		const hashing = hashFileInWorker(localFile, { md5: md5Only });
		hashing.catch(() => undefined); // awaited below; avoid an unhandled rejection meanwhile
		const meter = new DigestingMeter(options.onProgress, offset, 2000, false, false);
		const source = createReadStream(localFile, { start: offset, highWaterMark: 1 << 20 });
		source.on('error', (error) => meter.destroy(error));
		const sent = source.pipe(meter);
		const onAbort = () => {
			source.destroy(abortError(partial));
			client.close();
		};
		if (options.signal?.aborted) onAbort();
		options.signal?.addEventListener('abort', onAbort);
		try {
			if (offset > 0) await client.appendFrom(sent, partial);
			else await client.uploadFrom(sent, partial);
		} finally {
			options.signal?.removeEventListener('abort', onAbort);
		}
		if (options.signal?.aborted) throw abortError(partial);
		this.localWork++;
		const digest = await hashing.finally(() => this.localWork--);
		if (offset + meter.bytes !== digest.bytes)
			throw new Error(
				`${localFile} changed while it was uploaded (${offset + meter.bytes} bytes sent, ${digest.bytes} hashed)`,
			);
		return digest;
	}

	private async readBackSha256(client: Client, absPath: string): Promise<string> {
		const hash = createHash('sha256');
		await client.downloadTo(
			new Writable({
				write: (chunk: Buffer, _e, cb) => {
					hash.update(chunk);
					cb();
				},
			}),
			absPath,
		);
		return hash.digest('hex');
	}

	/* ---------------------------------------------------------------- the rest */

	async get(remotePath: string, localFile: string, options: TransferOptions = {}): Promise<GetResult> {
		const rel = normalizeRemotePath(remotePath);
		return this.exclusive(async (client) => {
			try {
				const size = await this.size(client, this.abs(rel));
				if (size === undefined)
					throw new BackupError(
						'SET_NOT_FOUND',
						`No file ${this.where(rel)}`,
						'List the destination to see which sets it holds.',
					);
				return await downloadToLocal(
					() => {
						const sink = new PassThrough({ highWaterMark: 1 << 20 });
						client.downloadTo(sink, this.abs(rel)).then(
							() => sink.end(),
							(error) => sink.destroy(error),
						);
						return sink;
					},
					localFile,
					size,
					options,
				);
			} catch (error) {
				throw await this.fileError(error, 'download', rel);
			}
		});
	}

	async list(folder: string): Promise<RemoteEntry[]> {
		const rel = normalizeRemotePath(folder, { allowRoot: true });
		return this.exclusive(async (client) => {
			let infos: FileInfo[];
			try {
				// CWD first: LIST of a missing folder is not an error on every server.
				await client.cd(this.abs(rel));
			} catch (error) {
				if (error instanceof FTPError && error.code === 550) return [];
				throw await this.fileError(error, 'list', rel || '.');
			}
			try {
				// 'LIST -a' shows partial files (leading dot) on most servers; some treat '-a' as a
				// name (error or nothing), so plain LIST is the fallback (vsftpd: force_dot_files).
				infos = await client.list('-a').catch((error) => {
					if (error instanceof FTPError) return [];
					throw error;
				});
				if (infos.length === 0) infos = await client.list();
			} catch (error) {
				throw await this.fileError(error, 'list', rel || '.');
			} finally {
				await client.cd(this.root).catch(() => undefined);
			}
			return infos
				.filter((info) => info.name !== '.' && info.name !== '..')
				.map((info) => ({
					name: info.name,
					path: rel ? `${rel}/${info.name}` : info.name,
					isFolder: info.isDirectory,
					size: info.isDirectory ? 0 : info.size,
					modifiedAt: info.modifiedAt,
				}));
		});
	}

	async stat(remotePath: string, options: StatOptions = {}): Promise<RemoteFileInfo | null> {
		const rel = normalizeRemotePath(remotePath);
		return this.exclusive(async (client) => {
			try {
				const size = await this.size(client, this.abs(rel));
				if (size === undefined) return null;
				const info: RemoteFileInfo = { size };
				info.modifiedAt = await client.lastMod(this.abs(rel)).catch(() => undefined);
				if (options.withHash) Object.assign(info, await this.remoteHash(client, this.abs(rel)));
				return info;
			} catch (error) {
				throw await this.fileError(error, 'read', rel);
			}
		});
	}

	async remove(remotePath: string): Promise<void> {
		const rel = normalizeRemotePath(remotePath);
		await this.exclusive(async (client) => {
			const response = await client.remove(this.abs(rel), true);
			if (response.code >= 400 && (await this.size(client, this.abs(rel))) !== undefined) {
				throw await this.fileError(new FTPError(response), 'delete', rel);
			}
		});
	}

	async removeFolder(remotePath: string): Promise<void> {
		const rel = normalizeRemotePath(remotePath);
		for (const entry of await this.list(rel)) {
			if (entry.isFolder) await this.removeFolder(entry.path);
			else await this.remove(entry.path);
		}
		await this.exclusive(async (client) => {
			const response = await client.sendIgnoringError(`RMD ${this.abs(rel)}`);
			if (response.code >= 400) {
				const stillThere = await client.cd(this.abs(rel)).then(
					() => true,
					() => false,
				);
				await client.cd(this.root);
				if (stillThere) throw await this.fileError(new FTPError(response), 'delete', rel);
			}
		});
	}

	async createExclusive(remotePath: string, content: string | Buffer): Promise<boolean> {
		const rel = normalizeRemotePath(remotePath);
		const data = Buffer.isBuffer(content) ? content : Buffer.from(content);
		return this.exclusive(async (client) => {
			try {
				if ((await this.size(client, this.abs(rel))) !== undefined) return false;
				await this.mkdirs(client, parentOf(rel));
				const temp = this.abs(
					`${parentOf(rel) ? `${parentOf(rel)}/` : ''}.${baseName(rel)}.${randomBytes(6).toString('hex')}.tmp`,
				);
				const source = new PassThrough();
				source.end(data);
				await client.uploadFrom(source, temp);
				const checkedAt = Date.now();
				if ((await this.size(client, this.abs(rel))) !== undefined) {
					await client.remove(temp, true);
					return false;
				}
				await client.rename(temp, this.abs(rel));
				// Another writer that found the name free just before our rename renames its copy over
				// ours a moment later (seen: 2 ms apart). Wait several times our own check-to-rename
				// time before reading back, so the read-back sees the copy that stands.
				await new Promise((resolve) => setTimeout(resolve, Math.min(5000, 50 + 4 * (Date.now() - checkedAt))));
				// Read back: if another writer renamed in the same instant, only one content stands.
				const chunks: Buffer[] = [];
				await client.downloadTo(
					new Writable({
						write: (chunk: Buffer, _e, cb) => {
							chunks.push(chunk);
							cb();
						},
					}),
					this.abs(rel),
				);
				return Buffer.concat(chunks).equals(data);
			} catch (error) {
				throw await this.fileError(error, 'create', rel);
			}
		});
	}

	async readSmallFile(remotePath: string, maxBytes = 1 << 20): Promise<Buffer | null> {
		const rel = normalizeRemotePath(remotePath);
		return this.exclusive(async (client) => {
			try {
				const size = await this.size(client, this.abs(rel));
				if (size === undefined) return null;
				if (size > maxBytes)
					throw new BackupError(
						'INVALID_INPUT',
						`${this.where(rel)} is ${size} bytes, more than the ${maxBytes} expected`,
						'This is not the small file expected here (lock or manifest); check the destination.',
					);
				const chunks: Buffer[] = [];
				await client.downloadTo(
					new Writable({
						write: (chunk: Buffer, _e, cb) => {
							chunks.push(chunk);
							cb();
						},
					}),
					this.abs(rel),
				);
				return Buffer.concat(chunks);
			} catch (error) {
				throw await this.fileError(error, 'read', rel);
			}
		});
	}

	async close(): Promise<void> {
		await this.queue;
		this.client?.close();
		this.client = undefined;
	}
}
