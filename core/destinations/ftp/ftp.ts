/**
 * FTP and FTPS (basic-ftp): plain, explicit TLS (AUTH TLS) and implicit TLS, passive mode
 * (EPSV / PASV). Verification by HASH / XSHA256 / XMD5 when the server offers them (vsftpd does
 * not), else by size, or a read-back when asked. The parts: session.ts (login, the command
 * queue and its watchdog, file commands), tls.ts (certificate trust), transport.ts (the bytes of
 * an upload), errors.ts (what a failure means for the user).
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { PassThrough } from 'node:stream';
import { FTPError, type Client, type FileInfo } from 'basic-ftp';
import { BackupError } from '../../errors';
import {
	baseName,
	normalizeRemotePath,
	parentOf,
	type FtpConfig,
	type PutOptions,
	type PutResult,
	type RemoteEntry,
	type RemoteFileInfo,
	type StatOptions,
} from '../destination';
import type { TransferDriver } from '../driver';
import { VerifiedDestination } from '../verified-destination';
import type { FtpContext } from './context';
import { diskFull, fileError } from './errors';
import { FtpConnection } from './session';
import { normalizeCertFingerprint } from './tls';
import { beginFtpUpload, diskIsFull } from './transport';

export class FtpDestination extends VerifiedDestination {
	readonly kind = 'ftp' as const;
	readonly exclusiveCreate = 'check-then-rename' as const;
	/** Its methods run inside `connection.exclusive` (put, get and readSmallFile below). */
	protected readonly driver: TransferDriver;
	private readonly context: FtpContext;
	private readonly connection: FtpConnection;
	private readonly port: number;

	constructor(private readonly config: FtpConfig) {
		super();
		this.port = config.port ?? (config.tls === 'implicit' ? 990 : 21);
		const pinned = config.certificateSha256 ? normalizeCertFingerprint(config.certificateSha256) : undefined;
		if (config.certificateSha256 && pinned?.length !== 95) {
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
		this.context = {
			config,
			port: this.port,
			pinned,
			timeoutMs: config.timeoutMs ?? 30_000,
			describe: () => this.describe(),
		};
		this.connection = new FtpConnection(this.context);
		this.driver = {
			describe: () => this.describe(),
			offersRemoteHash: () => this.connection.canHashRemotely(),
			readBackByDefault: false,
			stallTimeoutMs: this.context.timeoutMs,
			beginPut: async (rel, localFile) => {
				const client = await this.connection.connect();
				await this.connection.mkdirs(client, parentOf(rel));
				return beginFtpUpload(this.connection, client, rel, localFile);
			},
			statFile: async (rel) => {
				const size = await this.connection.size(await this.connection.connect(), this.connection.abs(rel));
				return size === undefined ? null : { size };
			},
			openRead: async (rel) => this.connection.readStream(await this.connection.connect(), this.connection.abs(rel)),
			toBackupError: async (error, action, rel) => {
				// A server that cannot write often just drops the data connection: ask whether the disk is full.
				if (
					action === 'upload' &&
					!(error instanceof FTPError) &&
					!(error instanceof BackupError) &&
					(await diskIsFull(this.connection, parentOf(rel)))
				)
					return diskFull(this.context, rel, error);
				return fileError(this.context, error, action, rel, this.connection.lost);
			},
		};
	}

	describe(): string {
		const scheme = this.config.tls === 'none' ? 'ftp' : this.config.tls === 'implicit' ? 'ftps' : 'ftpes';
		const folder = this.config.folder ? `/${this.config.folder.replace(/^\/+/, '')}` : '';
		return `${scheme}://${this.config.username}@${this.config.host}:${this.port}${folder}`;
	}

	/** Runs `operation` alone on the connection; its failures become BackupErrors about `rel`. */
	private run<T>(rel: string, action: string, operation: (client: Client) => Promise<T>): Promise<T> {
		return this.connection.exclusive(async (client) => {
			try {
				return await operation(client);
			} catch (error) {
				throw fileError(this.context, error, action, rel, this.connection.lost);
			}
		});
	}

	/* ---------------------------------------------------------------- Destination */

	override async put(localFile: string, remotePath: string, options: PutOptions = {}): Promise<PutResult> {
		const rel = normalizeRemotePath(remotePath);
		if (this.config.tls !== 'none' && (await fileSize(localFile)) === 0) {
			// vsftpd breaks a TLS data connection that carries no bytes (TLS alert or a hang);
			// backup artifacts, manifests and locks are never empty, so refuse clearly instead.
			throw new BackupError(
				'UNSUPPORTED_OPTION',
				`Cannot upload the empty file ${localFile} to ${this.describe()}/${rel} over FTPS`,
				'Empty files are not uploaded over FTPS; leave them out of the set or use SFTP.',
			);
		}
		return super.put(localFile, rel, options);
	}

	/** basic-ftp runs one command at a time: transfers queue with every other operation. */
	protected override transfer<T>(operation: () => Promise<T>): Promise<T> {
		return this.connection.exclusive(operation);
	}

	async list(folder: string): Promise<RemoteEntry[]> {
		const rel = normalizeRemotePath(folder, { allowRoot: true });
		return this.run(rel || '.', 'list', async (client) => {
			let infos: FileInfo[];
			try {
				// CWD first: LIST of a missing folder is not an error on every server.
				await client.cd(this.connection.abs(rel));
			} catch (error) {
				if (error instanceof FTPError && error.code === 550) return [];
				throw error;
			}
			try {
				// 'LIST -a' shows partial files (leading dot) on most servers; some treat '-a' as a
				// name (error or nothing), so plain LIST is the fallback (vsftpd: force_dot_files).
				infos = await client.list('-a').catch((error) => {
					if (error instanceof FTPError) return [];
					throw error;
				});
				if (infos.length === 0) infos = await client.list();
			} finally {
				await client.cd(this.connection.root).catch(() => undefined);
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
		return this.run(rel, 'read', async (client) => {
			const abs = this.connection.abs(rel);
			const size = await this.connection.size(client, abs);
			if (size === undefined) return null;
			const info: RemoteFileInfo = { size };
			info.modifiedAt = await client.lastMod(abs).catch(() => undefined);
			if (options.withHash) Object.assign(info, await this.connection.remoteHash(client, abs));
			return info;
		});
	}

	async remove(remotePath: string): Promise<void> {
		const rel = normalizeRemotePath(remotePath);
		await this.run(rel, 'delete', async (client) => {
			const abs = this.connection.abs(rel);
			const response = await client.remove(abs, true);
			if (response.code >= 400 && (await this.connection.size(client, abs)) !== undefined) throw new FTPError(response);
		});
	}

	async removeFolder(remotePath: string): Promise<void> {
		const rel = normalizeRemotePath(remotePath);
		for (const entry of await this.list(rel)) {
			if (entry.isFolder) await this.removeFolder(entry.path);
			else await this.remove(entry.path);
		}
		await this.run(rel, 'delete', async (client) => {
			const response = await client.sendIgnoringError(`RMD ${this.connection.abs(rel)}`);
			if (response.code >= 400) {
				const stillThere = await client.cd(this.connection.abs(rel)).then(
					() => true,
					() => false,
				);
				await client.cd(this.connection.root);
				if (stillThere) throw new FTPError(response);
			}
		});
	}

	async createExclusive(remotePath: string, content: string | Buffer): Promise<boolean> {
		const rel = normalizeRemotePath(remotePath);
		const data = Buffer.isBuffer(content) ? content : Buffer.from(content);
		return this.run(rel, 'create', async (client) => {
			const target = this.connection.abs(rel);
			if ((await this.connection.size(client, target)) !== undefined) return false;
			await this.connection.mkdirs(client, parentOf(rel));
			const temp = this.connection.abs(
				`${parentOf(rel) ? `${parentOf(rel)}/` : ''}.${baseName(rel)}.${randomBytes(6).toString('hex')}.tmp`,
			);
			const source = new PassThrough();
			source.end(data);
			await client.uploadFrom(source, temp);
			await this.connection.makePrivate(client, temp);
			const checkedAt = Date.now();
			if ((await this.connection.size(client, target)) !== undefined) {
				await client.remove(temp, true);
				return false;
			}
			await client.rename(temp, target);
			// Another writer that found the name free just before our rename renames its copy over
			// ours a moment later (seen: 2 ms apart). Wait several times our own check-to-rename
			// time before reading back, so the read-back sees the copy that stands.
			await new Promise((resolve) => setTimeout(resolve, Math.min(5000, 50 + 4 * (Date.now() - checkedAt))));
			// Read back: if another writer renamed in the same instant, only one content stands.
			return (await this.connection.readAll(client, target)).equals(data);
		});
	}

	async close(): Promise<void> {
		await this.connection.close();
	}
}

async function fileSize(localFile: string): Promise<number | undefined> {
	return fsp.stat(localFile).then(
		(st) => st.size,
		() => undefined,
	);
}
