/**
 * The FTP control connection (basic-ftp): login with the configured TLS, the root folder, the
 * server's features, and a queue, because basic-ftp runs one command at a time. Every
 * operation runs through `exclusive`, under a last-resort watchdog.
 */
import { Writable, type Readable, PassThrough } from 'node:stream';
import { Client, FTPError } from 'basic-ftp';
import { BackupError } from '../../errors';
import type { RemoteFileInfo } from '../destination';
import type { FtpContext } from './context';
import { connectError } from './errors';
import { tlsOptions } from './tls';

export class FtpConnection {
	client?: Client;
	/** Absolute root folder on the server. */
	root = '/';
	features = new Map<string, string>();
	/** The server's answer to SITE CHMOD when it refused it (files then keep the server's modes). */
	chmodRefused?: string;
	/** basic-ftp runs one command at a time: every operation queues behind the previous one. */
	private queue: Promise<unknown> = Promise.resolve();
	/** Set while we wait on local work (hashing a large file), which is not the server's silence. */
	localWork = 0;

	constructor(private readonly context: FtpContext) {}

	/** A read with no byte for this long fails (the watchdog above waits three times as long). */
	get stallTimeoutMs(): number {
		return this.context.timeoutMs;
	}

	/** Runs `operation` alone on the connection, under the watchdog. */
	exclusive<T>(operation: (client: Client) => Promise<T>): Promise<T> {
		const run = this.queue.then(() => this.watched(async () => operation(await this.connect())));
		this.queue = run.catch(() => undefined);
		return run;
	}

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
		const limitMs = 3 * this.context.timeoutMs;
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
							`No reply or data from ${this.context.describe()} for ${Math.round(limitMs / 1000)} s; connection closed`,
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

	/** The logged-in client, connecting when there is none or it was closed. */
	async connect(): Promise<Client> {
		if (this.client && !this.client.closed) return this.client;
		const { config, port } = this.context;
		const client = new Client(this.context.timeoutMs);
		try {
			const tls = config.tls !== 'none' ? await tlsOptions(this.context) : undefined;
			if (config.tls === 'implicit') await client.connectImplicitTLS(config.host, port, tls);
			else await client.connect(config.host, port);
			if (config.tls === 'explicit') await client.useTLS(tls);
			await client.sendIgnoringError('OPTS UTF8 ON');
			await client.login(config.username, config.password);
			await client.useDefaultSettings();
			this.features = await client.features();
			const home = await client.pwd();
			const folder = config.folder?.trim();
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
					`Folder "${this.root}" does not exist on ${this.context.describe()}`,
					'Create the folder on the server, or fix the folder in the destination settings.',
					{ cause: error },
				);
			}
			this.client = client;
			return client;
		} catch (error) {
			client.close();
			throw await connectError(this.context, error);
		}
	}

	/** Waits for the queued operations, then closes; idempotent. */
	async close(): Promise<void> {
		await this.queue;
		this.client?.close();
		this.client = undefined;
	}

	/** The client is closed or was never opened. */
	get lost(): boolean {
		return this.client?.closed !== false;
	}

	abs(rel: string): string {
		return rel ? (this.root === '/' ? `/${rel}` : `${this.root}/${rel}`) : this.root;
	}

	/** SIZE of a file; undefined when the server says there is none. */
	async size(client: Client, absPath: string): Promise<number | undefined> {
		try {
			return await client.size(absPath);
		} catch (error) {
			if (error instanceof FTPError && error.code >= 500) return undefined;
			throw error;
		}
	}

	async mkdirs(client: Client, relFolder: string): Promise<void> {
		let current = '';
		for (const part of relFolder ? relFolder.split('/') : []) {
			current = current ? `${current}/${part}` : part;
			const result = await client.sendIgnoringError(`MKD ${this.abs(current)}`);
			if (result.code >= 400) {
				// Already there, or a real refusal: CWD tells which.
				await client.cd(this.abs(current));
			} else await this.makePrivate(client, this.abs(current), '700');
		}
		await client.cd(this.root);
	}

	/**
	 * `SITE CHMOD` (vsftpd, ProFTPD, Pure-FTPd): files 600, folders 700. Best effort: a server
	 * without it (or with it off, vsftpd's chmod_enable=NO) keeps its own modes, the transfer goes
	 * on, and `chmodRefused` says so; it is not asked again on this connection.
	 */
	async makePrivate(client: Client, absPath: string, mode: '600' | '700' = '600'): Promise<void> {
		if (this.chmodRefused) return;
		const reply = await client.sendIgnoringError(`SITE CHMOD ${mode} ${absPath}`).catch(() => undefined);
		if (reply && reply.code >= 500) this.chmodRefused = `${reply.code} ${reply.message}`.trim();
	}

	async renameOver(client: Client, from: string, to: string): Promise<void> {
		try {
			await client.rename(from, to);
		} catch (error) {
			// Some servers refuse to rename onto an existing file.
			if (!(error instanceof FTPError) || (await this.size(client, to)) === undefined) throw error;
			await client.remove(to);
			await client.rename(from, to);
		}
	}

	/** Whether the server has a command that hashes a file (HASH, XSHA256, XMD5). */
	canHashRemotely(): boolean {
		return this.features.has('XSHA256') || this.features.has('XMD5') || this.features.has('HASH');
	}

	/** The server can give MD5 but not SHA-256: the local side must compute MD5 too. */
	md5Only(): boolean {
		const hashFeature = this.features.get('HASH') ?? '';
		return (
			(this.features.has('XMD5') || /MD5/i.test(hashFeature)) &&
			!this.features.has('XSHA256') &&
			!/SHA-256/i.test(hashFeature)
		);
	}

	/** A hash computed by the server, when it has a command for that. */
	async remoteHash(client: Client, absPath: string): Promise<Pick<RemoteFileInfo, 'sha256' | 'md5'>> {
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
	 * The bytes of a file as a stream (RETR). It ends only when the server has confirmed the
	 * transfer, so the next command on the connection never starts while this one is running.
	 */
	readStream(client: Client, absPath: string): Readable {
		const sink = new PassThrough({ highWaterMark: 1 << 20 });
		// basic-ftp ends the stream it writes to at the data connection's end, before the 226
		// reply: it writes into `feeder`, which hands on the bytes but not the end.
		const feeder = new Writable({
			highWaterMark: 1 << 20,
			write: (chunk: Buffer, _encoding, callback) => {
				if (sink.write(chunk)) callback();
				else sink.once('drain', () => callback());
			},
		});
		let finished = false;
		sink.once('close', () => {
			if (finished) return;
			// The reader stopped early (a limit, a stall): end the transfer and the connection, which
			// cannot take another command while RETR runs; the next operation reconnects.
			feeder.destroy();
			client.close();
		});
		client.downloadTo(feeder, absPath).then(
			() => {
				finished = true;
				sink.end();
			},
			(error) => {
				finished = true;
				sink.destroy(error);
			},
		);
		return sink;
	}

	/** A small file's bytes in memory (a lock read back). */
	async readAll(client: Client, absPath: string): Promise<Buffer> {
		const chunks: Buffer[] = [];
		await client.downloadTo(
			new Writable({
				write: (chunk: Buffer, _e, cb) => {
					chunks.push(chunk);
					cb();
				},
			}),
			absPath,
		);
		return Buffer.concat(chunks);
	}
}
