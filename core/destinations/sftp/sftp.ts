/**
 * SFTP (ssh2). Host key pinned by SHA-256 fingerprint, password or private key (+ passphrase),
 * keepalive and an idle watchdog so a dead link fails instead of hanging, pipelined writes for
 * throughput, and verification by `sha256sum` over an exec channel when the server allows it.
 * The parts: session.ts (login, file operations), transport.ts (the bytes of an upload, through
 * ssh2 or OpenSSH's client: sftp-openssh.ts), errors.ts (what a failure means for the user).
 */
import { randomBytes } from 'node:crypto';
import { BackupError } from '../../errors';
import type { GrowingFile } from '../../pipeline/growing-file';
import { sweepStaleSecretFolders } from '../../secret-folders';
import {
	baseName,
	normalizeRemotePath,
	parentOf,
	type RemoteEntry,
	type RemoteFileInfo,
	type SftpConfig,
	type StatOptions,
} from '../destination';
import type { TransferDriver } from '../driver';
import { VerifiedDestination } from '../verified-destination';
import type { SftpContext } from './context';
import { FAILURE, fileError, NO_SUCH_FILE, statusCode } from './errors';
import { parseHostKeyPin } from './fingerprint';
import { openSession, type SftpSession } from './session';
import { beginSftpUpload, sendGrowingSsh2, type SftpHooks } from './transport';

export class SftpDestination extends VerifiedDestination {
	readonly kind = 'sftp' as const;
	readonly exclusiveCreate = 'atomic' as const;
	protected readonly driver: TransferDriver;
	private session?: Promise<SftpSession>;
	private swept?: Promise<void>;
	private readonly context: SftpContext;

	constructor(
		private readonly config: SftpConfig,
		private readonly hooks: SftpHooks = {},
	) {
		super();
		if (!config.hostKeySha256?.trim()) {
			throw new BackupError(
				'INVALID_INPUT',
				`No host key fingerprint given for ${this.describe()}`,
				'Run `ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` on the server (or `ssh-keyscan host | ssh-keygen -lf -`) and paste the SHA256:… value.',
			);
		}
		if (!config.password && !config.privateKey) {
			throw new BackupError(
				'INVALID_INPUT',
				`No password or private key given for ${this.describe()}`,
				'Set a password or a private key in the SFTP credential.',
			);
		}
		this.context = {
			config,
			pin: parseHostKeyPin(config.hostKeySha256),
			timeoutMs: config.timeoutMs ?? 30_000,
			describe: () => this.describe(),
		};
		this.driver = {
			describe: () => this.describe(),
			offersRemoteHash: () => this.config.remoteHash !== false && this.context.remoteHashWorks !== false,
			readBackByDefault: false,
			stallTimeoutMs: this.context.timeoutMs,
			beginPut: async (rel, localFile, localSize) => {
				const session = await this.connect();
				await session.mkdirs(parentOf(rel));
				return beginSftpUpload(this.context, this.hooks, session, rel, localFile, localSize);
			},
			statFile: (rel) => this.stat(rel),
			openRead: async (rel) => {
				const session = await this.connect();
				return session.readStream(session.abs(rel));
			},
			toBackupError: async (error, action, rel) => {
				const session = await this.session?.catch(() => undefined);
				// A session on which a read stalled may have requests that never return: never reuse it.
				if (error instanceof BackupError && error.code === 'TIMEOUT') session?.abandon();
				// Without a session the failure came before any login, and login failures are BackupErrors already.
				return fileError(
					this.context,
					session ?? { closed: true, abs: () => '', freeBytes: async () => 0 },
					error,
					action,
					rel,
				);
			},
		};
	}

	describe(): string {
		const folder = this.config.folder ? `/${this.config.folder.replace(/^\/+/, '')}` : '';
		return `sftp://${this.config.username}@${this.config.host}:${this.config.port ?? 22}${folder}`;
	}

	/**
	 * The open session, or a new one when there is none or it was closed. Before the first one,
	 * the secret folders that a killed worker left behind (the OpenSSH client's with a private
	 * key in it) are removed.
	 */
	private connect(): Promise<SftpSession> {
		const existing = this.session;
		this.swept ??= sweepStaleSecretFolders().then(
			() => undefined,
			() => undefined,
		);
		const fresh = () => (this.session = this.swept!.then(() => openSession(this.context)));
		if (!existing) return fresh();
		return existing.then(
			(session) => (session.closed ? fresh() : session),
			() => fresh(),
		);
	}

	/** Runs `operation` on the session; its failures become BackupErrors about `rel`. */
	private async using<T>(rel: string, action: string, operation: (session: SftpSession) => Promise<T>): Promise<T> {
		const session = await this.connect();
		try {
			return await operation(session);
		} catch (error) {
			throw await fileError(this.context, session, error, action, rel);
		}
	}

	/* ---------------------------------------------------------------- Destination */

	async list(folder: string): Promise<RemoteEntry[]> {
		const rel = normalizeRemotePath(folder, { allowRoot: true });
		return this.using(rel || '.', 'list', async (session) => {
			const entries = await session.readdir(session.abs(rel, true)).catch((error) => {
				if (statusCode(error) === NO_SUCH_FILE) return [];
				throw error;
			});
			return entries
				.filter((entry) => entry.filename !== '.' && entry.filename !== '..')
				.map((entry) => ({
					name: entry.filename,
					path: rel ? `${rel}/${entry.filename}` : entry.filename,
					isFolder: entry.attrs.isDirectory(),
					size: entry.attrs.isDirectory() ? 0 : entry.attrs.size,
					modifiedAt: new Date(entry.attrs.mtime * 1000),
				}));
		});
	}

	async stat(remotePath: string, options: StatOptions = {}): Promise<RemoteFileInfo | null> {
		const rel = normalizeRemotePath(remotePath);
		return this.using(rel, 'read', async (session) => {
			const st = await session.stat(session.abs(rel));
			if (!st || !st.isFile()) return null;
			const info: RemoteFileInfo = { size: st.size, modifiedAt: new Date(st.mtime * 1000) };
			if (options.withHash) info.sha256 = await session.sha256(this.context, session.abs(rel));
			return info;
		});
	}

	async remove(remotePath: string): Promise<void> {
		const rel = normalizeRemotePath(remotePath);
		await this.using(rel, 'delete', (session) => session.unlink(session.abs(rel)));
	}

	async removeFolder(remotePath: string): Promise<void> {
		const rel = normalizeRemotePath(remotePath);
		for (const entry of await this.list(rel)) {
			if (entry.isFolder) await this.removeFolder(entry.path);
			else await this.remove(entry.path);
		}
		await this.using(rel, 'delete', (session) => session.rmdir(session.abs(rel)));
	}

	async createExclusive(remotePath: string, content: string | Buffer): Promise<boolean> {
		const rel = normalizeRemotePath(remotePath);
		const data = Buffer.isBuffer(content) ? content : Buffer.from(content);
		return this.using(rel, 'create', async (session) => {
			const target = session.abs(rel);
			const temp = `${session.abs(parentOf(rel), true)}/.${baseName(rel)}.${randomBytes(6).toString('hex')}.tmp`;
			try {
				await session.mkdirs(parentOf(rel));
				// Write the whole content under a unique name, then hardlink: atomic, fails when the
				// name exists, and a reader never sees a half-written file. Without the extension,
				// fall back to an exclusive open (CREAT|EXCL, also atomic).
				await session.writeSmall(temp, data, 'wx');
				try {
					await session.call((cb) => session.sftp.ext_openssh_hardlink(temp, target, cb));
					return true;
				} catch (error) {
					if (/not supported/i.test((error as Error).message)) {
						await session.writeSmall(target, data, 'wx');
						return true;
					}
					if (await session.stat(target)) return false;
					throw error;
				}
			} catch (error) {
				if (statusCode(error) === FAILURE && (await session.stat(target).catch(() => null))) return false;
				throw error;
			} finally {
				await session.unlink(temp).catch(() => undefined);
			}
		});
	}

	/**
	 * Sends a file that is still being written into the partial name of `remotePath` (ssh2),
	 * following its writer until it ends; never gives it its final name. The later `put` of the
	 * same path proves the whole remote copy by its SHA-256 before renaming it (or sends it
	 * again): see core/pipeline/upload-while-writing.ts. Sends nothing where the server gives no
	 * SHA-256 (remote hash off, or no sha256sum there).
	 */
	async sendGrowing(remotePath: string, growing: GrowingFile, signal?: AbortSignal): Promise<void> {
		const rel = normalizeRemotePath(remotePath);
		// Without a remote hash the put could not prove the partial and would send it all again.
		if (!this.driver.offersRemoteHash()) return;
		await this.using(rel, 'upload', async (session) => {
			await session.mkdirs(parentOf(rel));
			await sendGrowingSsh2(this.context, session, rel, growing, signal);
		});
	}

	async close(): Promise<void> {
		const pending = this.session;
		this.session = undefined;
		const session = await pending?.catch(() => undefined);
		await session?.end();
	}
}
