/**
 * Google Drive (Drive API v3 through @googleapis/drive). Paths map to folders under
 * `rootFolderId` (a folder in My Drive or in a shared drive): `<environment>/<backupId>/<file>`.
 * The parts: auth.ts (tokens), files.ts (paths to ids, listing, deleting), resumable.ts (the
 * resumable upload protocol), errors.ts (retries and what a failure means for the user). An
 * upload is renamed from its partial name only after Drive's md5Checksum / sha256Checksum
 * match, so a final name never holds an incomplete or unverified file.
 */
import { BackupError } from '../../errors';
import {
	baseName,
	normalizeRemotePath,
	parentOf,
	type GoogleDriveConfig,
	type RemoteEntry,
	type RemoteFileInfo,
} from '../destination';
import type { TransferDriver } from '../driver';
import { VerifiedDestination } from '../verified-destination';
import { fetchToken } from './auth';
import { loadDriveModule, type OAuthClient } from './client';
import type { DriveContext } from './context';
import { toBackupError } from './errors';
import { DriveFiles, fileInfo, FOLDER_MIME } from './files';
import { ResumableUploads } from './resumable';

export { DRIVE_SCOPE } from './auth';

const CHUNK_UNIT = 256 * 1024;

export class GoogleDriveDestination extends VerifiedDestination<RemoteFileInfo & { id: string }> {
	readonly kind = 'google-drive' as const;
	readonly exclusiveCreate = 'tie-break' as const;
	protected readonly driver: TransferDriver<RemoteFileInfo & { id: string }>;
	/** googleapis' OAuth2 client, made on first use (client.ts); it keeps the token and refreshes it through our fetchToken. */
	private readonly oauth: () => Promise<OAuthClient>;
	private readonly files: DriveFiles;
	private readonly uploads: ResumableUploads;
	private readonly apiBase: string;

	constructor(private readonly config: GoogleDriveConfig) {
		super();
		if (!config.rootFolderId?.trim()) {
			throw new BackupError(
				'INVALID_INPUT',
				'No Google Drive folder id given',
				'Open the folder in Google Drive and copy the id from its address (…/folders/<id>); for a shared drive, share it with the service account.',
			);
		}
		this.apiBase = (config.apiBaseUrl ?? 'https://www.googleapis.com').replace(/\/+$/, '');
		const tokenUrl = config.tokenUrl ?? 'https://oauth2.googleapis.com/token';
		const timeoutMs = config.timeoutMs ?? 60_000;
		let oauthClient: Promise<OAuthClient> | undefined;
		this.oauth = () =>
			(oauthClient ??= loadDriveModule().then(({ auth }) => {
				const client = new auth.OAuth2();
				client.refreshHandler = async () => fetchToken(config, tokenUrl, timeoutMs);
				return client;
			}));
		const context: DriveContext = {
			config,
			apiBase: this.apiBase,
			chunkBytes: Math.max(1, Math.round((config.chunkBytes ?? 16 * 1024 * 1024) / CHUNK_UNIT)) * CHUNK_UNIT,
			maxRetries: config.maxRetries ?? 6,
			timeoutMs,
			describe: () => this.describe(),
			authHeader: () => this.authHeader(),
		};
		this.files = new DriveFiles(context, this.oauth);
		this.uploads = new ResumableUploads(context, this.files);
		this.driver = {
			describe: () => this.describe(),
			// Drive stores an MD5 (and SHA-256) of every file.
			offersRemoteHash: () => true,
			readBackByDefault: false,
			stallTimeoutMs: this.config.timeoutMs ?? 60_000,
			beginPut: async (rel, localFile, localSize) => {
				const parentId = (await this.files.folderId(parentOf(rel), true))!;
				return this.uploads.begin(rel, parentId, localFile, localSize);
			},
			statFile: async (rel) => {
				const file = await this.files.findFile(rel);
				return file?.id ? { ...fileInfo(file), id: file.id } : null;
			},
			openRead: (_rel, file, signal) => this.files.download(file.id, signal),
			toBackupError: (error, action, rel) => toBackupError(this.config, error, action, `${this.describe()}/${rel}`),
		};
	}

	describe(): string {
		const who =
			this.config.auth.kind === 'serviceAccount'
				? (this.config.auth.subject ?? this.config.auth.clientEmail)
				: 'oauth2';
		const host = this.config.apiBaseUrl ? ` via ${this.apiBase}` : '';
		return `gdrive://${who}/${this.config.rootFolderId}${host}`;
	}

	private async authHeader(): Promise<string> {
		const { token } = await (await this.oauth()).getAccessToken();
		if (!token)
			throw new BackupError('AUTH_FAILED', 'No access token from Google', 'Check the Google Drive credential.');
		return `Bearer ${token}`;
	}

	/** Runs `operation`; its failures become BackupErrors about `rel`. */
	private async run<T>(rel: string, action: string, operation: () => Promise<T>): Promise<T> {
		try {
			return await operation();
		} catch (error) {
			throw toBackupError(this.config, error, action, `${this.describe()}/${rel}`);
		}
	}

	/* ---------------------------------------------------------------- Destination */

	async list(folder: string): Promise<RemoteEntry[]> {
		const rel = normalizeRemotePath(folder, { allowRoot: true });
		return this.run(rel || '.', 'list', async () => {
			const folderId = await this.files.folderId(rel, false);
			if (!folderId) return [];
			return (await this.files.children(folderId)).map((file) => {
				const isFolder = file.mimeType === FOLDER_MIME;
				return {
					name: file.name ?? '',
					path: rel ? `${rel}/${file.name}` : (file.name ?? ''),
					isFolder,
					size: isFolder ? 0 : Number(file.size ?? 0),
					modifiedAt: file.modifiedTime ? new Date(file.modifiedTime) : undefined,
				};
			});
		});
	}

	async stat(remotePath: string): Promise<RemoteFileInfo | null> {
		const rel = normalizeRemotePath(remotePath);
		return this.run(rel, 'read', async () => {
			const file = await this.files.findFile(rel);
			return file ? fileInfo(file) : null;
		});
	}

	async remove(remotePath: string): Promise<void> {
		const rel = normalizeRemotePath(remotePath);
		await this.run(rel, 'delete', async () => {
			const parentId = await this.files.folderId(parentOf(rel), false);
			if (!parentId) return;
			for (const file of await this.files.childrenNamed(parentId, baseName(rel))) {
				if (file.mimeType !== FOLDER_MIME) await this.files.deleteById(file.id!);
			}
		});
	}

	/** Deleting a folder deletes everything in it (one call; permanent, not to the trash). */
	async removeFolder(remotePath: string): Promise<void> {
		const rel = normalizeRemotePath(remotePath);
		await this.run(rel, 'delete', async () => {
			const folderId = await this.files.folderId(rel, false);
			if (!folderId) return;
			await this.files.deleteById(folderId);
			this.files.forget(rel);
		});
	}

	async createExclusive(remotePath: string, content: string | Buffer): Promise<boolean> {
		const rel = normalizeRemotePath(remotePath);
		return this.run(rel, 'create', async () => {
			const parentId = (await this.files.folderId(parentOf(rel), true))!;
			if ((await this.files.childrenNamed(parentId, baseName(rel))).length > 0) return false;
			const created = await this.uploads.uploadSmall(
				{ name: baseName(rel), parents: [parentId] },
				Buffer.from(content),
			);
			// Drive allows duplicate names: the oldest file wins; later creators remove theirs.
			const all = await this.files.childrenNamed(parentId, baseName(rel));
			if (all[0]?.id === created.id) return true;
			await this.files.deleteById(created.id!);
			return false;
		});
	}

	async close(): Promise<void> {
		this.files.forget();
	}
}
