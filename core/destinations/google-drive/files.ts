/**
 * Drive's files by path: Drive knows ids, not paths, so each folder of `<environment>/<backupId>/`
 * is looked up (and cached) by name under its parent, from the root folder id down. Drive allows
 * several files of one name in a folder; the oldest is the one that counts.
 */
import { Readable } from 'node:stream';
import type { drive_v3 } from '@googleapis/drive';
import { BackupError } from '../../errors';
import { baseName, parentOf, type RemoteFileInfo } from '../destination';
import { withRetries } from '../retry';
import { loadDriveModule, type DriveApi, type OAuthClient } from './client';
import type { DriveContext } from './context';
import { driveErrorFrom, DriveHttpError, fromGaxios, isTransient } from './errors';

export type DriveFile = drive_v3.Schema$File;

export const FOLDER_MIME = 'application/vnd.google-apps.folder';
export const FILE_FIELDS = 'id,name,size,md5Checksum,sha256Checksum,modifiedTime,createdTime,mimeType';
const COMMON = { supportsAllDrives: true } as const;

function escapeQuery(value: string): string {
	return value.replace(/\\/g, '\\\\').replace(/'/g, "\\'");
}

/** What a Drive file says about itself, as a destination reports it. */
export function fileInfo(file: DriveFile): RemoteFileInfo {
	return {
		size: Number(file.size ?? 0),
		modifiedAt: file.modifiedTime ? new Date(file.modifiedTime) : undefined,
		sha256: file.sha256Checksum ?? undefined,
		md5: file.md5Checksum ?? undefined,
	};
}

export class DriveFiles {
	private api?: Promise<DriveApi>;
	/** Folder path (relative) -> id; '' is the root. */
	private readonly folderIds = new Map<string, string>();
	private rootChecked = false;

	constructor(
		private readonly context: DriveContext,
		private readonly auth: () => Promise<OAuthClient>,
	) {
		this.forget();
	}

	/** The googleapis client, made on the first call (see client.ts). */
	private client(): Promise<DriveApi> {
		this.api ??= Promise.all([loadDriveModule(), this.auth()]).then(([{ drive }, auth]) =>
			// Node's own fetch: gaxios would otherwise load node-fetch with a dynamic import.
			drive({
				version: 'v3',
				auth,
				rootUrl: `${this.context.apiBase}/`,
				retry: false,
				timeout: this.context.timeoutMs,
				fetchImplementation: fetch,
			}),
		);
		return this.api;
	}

	/** Drops the cached folder ids (after close, or after a folder was deleted). */
	forget(prefix?: string): void {
		if (prefix === undefined) {
			this.folderIds.clear();
			this.folderIds.set('', this.context.config.rootFolderId.trim());
			return;
		}
		for (const key of [...this.folderIds.keys()])
			if (key === prefix || key.startsWith(`${prefix}/`)) this.folderIds.delete(key);
	}

	/** A googleapis call with our backoff (the client's own retry is off). */
	call<T>(request: (api: DriveApi) => Promise<{ data: T }>, signal?: AbortSignal): Promise<T> {
		return withRetries(
			async () => {
				const api = await this.client();
				try {
					return (await request(api)).data;
				} catch (error) {
					throw fromGaxios(error);
				}
			},
			isTransient,
			{ maxRetries: this.context.maxRetries, signal },
		);
	}

	/** Every file a `q` query finds, page by page. */
	private async query(q: string, pageSize: number): Promise<DriveFile[]> {
		const files: DriveFile[] = [];
		let pageToken: string | undefined;
		do {
			const page = await this.call((api) =>
				api.files.list({
					...COMMON,
					includeItemsFromAllDrives: true,
					corpora: 'allDrives',
					q,
					fields: `nextPageToken,files(${FILE_FIELDS})`,
					pageSize,
					pageToken,
				}),
			);
			files.push(...(page.files ?? []));
			pageToken = page.nextPageToken ?? undefined;
		} while (pageToken);
		return files;
	}

	/** Files of that name in a folder (not trashed), oldest first. */
	async childrenNamed(parentId: string, name: string): Promise<DriveFile[]> {
		const files = await this.query(
			`'${escapeQuery(parentId)}' in parents and name = '${escapeQuery(name)}' and trashed = false`,
			100,
		);
		// Oldest first: with duplicates (Drive allows them) the oldest is the one that counts.
		return files.sort(
			(a, b) => (a.createdTime ?? '').localeCompare(b.createdTime ?? '') || (a.id ?? '').localeCompare(b.id ?? ''),
		);
	}

	/** Every child of a folder (not trashed). */
	children(folderId: string): Promise<DriveFile[]> {
		return this.query(`'${escapeQuery(folderId)}' in parents and trashed = false`, 1000);
	}

	/** The id of a folder by relative path; created (with its parents) when `create`, else undefined when missing. */
	async folderId(relFolder: string, create: boolean): Promise<string | undefined> {
		if (!this.rootChecked) {
			// Drive lists nothing for an unknown parent: check the root once so a wrong or
			// unshared folder id is an error, not an empty destination.
			const rootId = this.context.config.rootFolderId.trim();
			const root = await this.call((api) => api.files.get({ ...COMMON, fileId: rootId, fields: 'id,mimeType' }));
			if (root.mimeType !== FOLDER_MIME)
				throw new BackupError(
					'INVALID_INPUT',
					`Google Drive item ${this.context.config.rootFolderId} is not a folder`,
					'Give the id of a folder (or shared drive), from its address …/folders/<id>.',
				);
			this.rootChecked = true;
		}
		const known = this.folderIds.get(relFolder);
		if (known) return known;
		const parentId = await this.folderId(parentOf(relFolder), create);
		if (!parentId) return undefined;
		const name = baseName(relFolder);
		let folder = (await this.childrenNamed(parentId, name)).find((file) => file.mimeType === FOLDER_MIME);
		if (!folder && create) {
			const created = await this.call((api) =>
				api.files.create({
					...COMMON,
					requestBody: { name, mimeType: FOLDER_MIME, parents: [parentId] },
					fields: 'id,createdTime',
				}),
			);
			folder = created;
			// Two writers may have created it at once: settle on the oldest, drop ours if not it.
			const all = (await this.childrenNamed(parentId, name)).filter((file) => file.mimeType === FOLDER_MIME);
			if (all[0]?.id && all[0].id !== created.id) {
				await this.deleteById(created.id!).catch(() => undefined);
				folder = all[0];
			}
		}
		if (!folder?.id) return undefined;
		this.folderIds.set(relFolder, folder.id);
		return folder.id;
	}

	/** The file (not a folder) at a relative path, the oldest of its name. */
	async findFile(rel: string): Promise<DriveFile | undefined> {
		const parentId = await this.folderId(parentOf(rel), false);
		if (!parentId) return undefined;
		return (await this.childrenNamed(parentId, baseName(rel))).find((file) => file.mimeType !== FOLDER_MIME);
	}

	async rename(fileId: string, name: string): Promise<void> {
		await this.call((api) => api.files.update({ ...COMMON, fileId, requestBody: { name }, fields: 'id' }));
	}

	/** Deletes a file or a folder with everything in it (permanent, not to the trash); gone already is fine. */
	async deleteById(fileId: string): Promise<void> {
		await this.call((api) => api.files.delete({ ...COMMON, fileId })).catch((error) => {
			if (error instanceof DriveHttpError && error.status === 404) return;
			throw error;
		});
	}

	/** The bytes of a file (alt=media). */
	async download(fileId: string, signal?: AbortSignal): Promise<Readable> {
		const response = await fetch(
			`${this.context.apiBase}/drive/v3/files/${encodeURIComponent(fileId)}?alt=media&supportsAllDrives=true`,
			{ headers: { authorization: await this.context.authHeader() }, signal },
		);
		if (!response.ok || !response.body)
			throw driveErrorFrom(response.status, await response.json().catch(() => undefined));
		return Readable.fromWeb(response.body as import('node:stream/web').ReadableStream);
	}
}
