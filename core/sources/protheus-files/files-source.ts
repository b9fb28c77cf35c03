import { stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import type { FileEntry, FilesInventory, FilesRoot, FilesSourceFacts } from '../../backup-set/files-manifest';
import { isSealed, isSealedWithoutKeys } from '../../backup-set/manifest';
import { sealedFor } from '../../backup-set/sealed-read';
import { currentSetKeys } from '../../backup-set/set-keys';
import type { BackupSetWriter } from '../../backup-set/set-writer';
import { BackupError, systemErrorCode } from '../../errors';
import { formatBytes } from '../../format';
import { hashFile } from '../../pipeline/hashing';
import { packageInfo } from '../../package-info';
import type { ChainPosition, DumpOutcome, DumpRequest, PreparedDump, Source } from '../source';
import { pickEnvironments, readAppserverIni } from './appserver-ini';
import { writeTarArchive, type StoredFile } from './archive-writer';
import { findPrevious, type ChainLink } from './chain';
import { ARCHIVE_EXTENSION, chooseCodec, type ArchiveCompression, type Codec } from './compression';
import { makeSelection, PROTHEUS_DEFAULT_EXCLUDE, PROTHEUS_DEFAULT_INCLUDE } from './patterns';
import { isoMtime, labelRoots, scanTree, type TreeEntry } from './tree';

export interface FilesDumpOptions {
	/** Absolute folders (or single files) to back up. */
	folders: string[];
	/** An appserver.ini whose environments' RootPath, SourcePath, RpoCustom and RPOTLPP are added, or ''. */
	appserverIni: string;
	/** Environments of that ini to read; empty: all. */
	iniEnvironments: string[];
	include: string[];
	exclude: string[];
	/** Add PROTHEUS_DEFAULT_INCLUDE / _EXCLUDE to the lists above. */
	protheusDefaults: boolean;
	/** Also compare content hashes (reads every file) instead of trusting size and mtime. */
	paranoid: boolean;
	/** Make a full, and say so, when a differential or incremental has nothing to build on. */
	promoteToFull: boolean;
	compression: ArchiveCompression;
	compressionLevel: number | null;
	/** The zstd command; found on PATH when empty. */
	zstdPath?: string;
}

export const defaultFilesOptions: FilesDumpOptions = {
	folders: [],
	appserverIni: '',
	iniEnvironments: [],
	include: [],
	exclude: [],
	protheusDefaults: true,
	paranoid: false,
	promoteToFull: false,
	compression: 'zstd',
	compressionLevel: null,
};

/** File sets need no connection: the folders are on (or mounted on) the n8n host. */
export type FilesConnection = null;

interface Plan {
	roots: FilesRoot[];
	forced: string[];
	appserverIni: FilesSourceFacts['appserverIni'];
	include: string[];
	exclude: string[];
	codec: Codec;
	chain: ChainPosition;
	previous?: ChainLink;
	promoted: FilesInventory['promotedToFull'];
}

const isAbsolutePath = (p: string) => isAbsolute(p) || /^[A-Za-z]:[\\/]/.test(p) || p.startsWith('\\\\');

/** Protheus file trees (RPOs, ini files, Protheus_Data) as tar archives, full / differential / incremental. */
export class ProtheusFilesSource implements Source<FilesConnection, FilesDumpOptions> {
	readonly engine = 'protheus-files' as const;
	readonly component = 'files' as const;

	async prepare(request: DumpRequest<FilesConnection, FilesDumpOptions>): Promise<PreparedDump> {
		const plan = await this.plan(request);
		const { log } = request;
		log.info(
			`Pre-flight passed: ${plan.chain.type} of ${plan.roots.map((r) => r.path).join(', ')}` +
				`${plan.previous ? ` on top of ${plan.previous.manifest.backupId}` : ''}, compression ${plan.codec.description}`,
		);
		return { chain: plan.chain, dump: (set) => this.dump(request, plan, set), close: async () => undefined };
	}

	async inventory(_connection: FilesConnection, options: FilesDumpOptions): Promise<FilesInventory> {
		const { roots, forced, include, exclude } = await resolveRoots(options);
		const scan = await scanTree(roots, makeSelection(include, exclude, forced));
		const entries: FileEntry[] = [];
		for (const e of scan.entries)
			entries.push(toIndexEntry(e, e.type === 'file' ? (await hashFile(e.absolute)).sha256 : null, null));
		return {
			engine: 'protheus-files',
			entries,
			changes: { added: [], changed: [], deleted: [] },
			inconsistent: [],
			skipped: scan.skipped,
			promotedToFull: null,
			totals: totalsOf(entries, 0, 0),
		};
	}

	private async plan(request: DumpRequest<FilesConnection, FilesDumpOptions>): Promise<Plan> {
		const { options } = request;
		const resolved = await resolveRoots(options);
		const codec = await chooseCodec(options.compression, options.compressionLevel, options.zstdPath);
		if (options.compression === 'zstd' && codec.method !== 'zstd')
			request.log.warn(
				'The zstd command is not installed on this host: compressing with gzip instead (slower, larger). Install zstd to get zstd archives.',
			);
		const requested = request.type;
		if (requested === 'log')
			throw new BackupError(
				'UNSUPPORTED_OPTION',
				'File sets have no log backups',
				'Choose Full, Differential or Incremental.',
			);
		let chain: ChainPosition = { type: 'full', baseBackupId: null, parentBackupId: null };
		let previous: ChainLink | undefined;
		let promoted: FilesInventory['promotedToFull'] = null;
		if (requested === 'differential' || requested === 'incremental') {
			const found = await findPrevious(request.stagingFolder, request.environment, resolved.roots, requested);
			if (found.parent && found.base) {
				refuseUnreadableParent(found.parent, requested);
				previous = found.parent;
				chain = {
					type: requested,
					baseBackupId: found.base.manifest.backupId,
					parentBackupId: found.parent.manifest.backupId,
				};
			} else if (options.promoteToFull) {
				promoted = { requested, reason: `Made a full backup instead of the ${requested} asked for: ${found.problem}` };
				request.log.warn(promoted.reason);
			} else {
				throw new BackupError(
					'BACKUP_CHAIN_BROKEN',
					`Cannot make ${requested === 'incremental' ? 'an' : 'a'} ${requested} backup of ${resolved.roots.map((r) => r.path).join(', ')}: ${found.problem}`,
					'Run a Full backup of these folders first (same environment and staging folder), or turn on "Promote to Full When No Base" to make a full automatically in that case.',
				);
			}
		}
		return { ...resolved, codec, chain, previous, promoted };
	}

	private async dump(
		request: DumpRequest<FilesConnection, FilesDumpOptions>,
		plan: Plan,
		set: BackupSetWriter,
	): Promise<DumpOutcome> {
		const { log, options, signal } = request;
		const scan = await scanTree(plan.roots, makeSelection(plan.include, plan.exclude, plan.forced), signal, [
			request.stagingFolder,
		]);
		const before = new Map((plan.previous?.manifest.inventory.entries ?? []).map((e) => [e.path, e]));
		const previouslyInconsistent = new Set((plan.previous?.manifest.inventory.inconsistent ?? []).map((i) => i.path));
		const changes: FilesInventory['changes'] = { added: [], changed: [], deleted: [] };
		const toArchive: TreeEntry[] = [];
		const unchangedHash = new Map<string, FileEntry>();
		for (const entry of scan.entries) {
			const old = before.get(entry.path);
			if (entry.type !== 'file') {
				toArchive.push(entry); // folders and links are headers only: every archive has them all
				if (plan.previous && !old) changes.added.push(entry.path);
				else if (
					plan.previous &&
					(old!.type !== entry.type || old!.target !== entry.target || ownerChanged(old!, entry))
				)
					changes.changed.push(entry.path);
				continue;
			}
			if (!plan.previous) {
				toArchive.push(entry);
				continue;
			}
			if (!old) {
				changes.added.push(entry.path);
				toArchive.push(entry);
				continue;
			}
			let same =
				old.type === 'file' &&
				old.size === entry.size &&
				old.mtime === isoMtime(entry.mtimeMs) &&
				!ownerChanged(old, entry) &&
				!previouslyInconsistent.has(entry.path);
			if (same && options.paranoid) {
				try {
					same = (await hashFile(entry.absolute)).sha256 === old.sha256;
				} catch (error) {
					if (systemErrorCode(error) !== 'ENOENT' && systemErrorCode(error) !== 'EACCES') throw error;
					same = false; // let the archive step report it
				}
			}
			if (same) unchangedHash.set(entry.path, old);
			else {
				changes.changed.push(entry.path);
				toArchive.push(entry);
			}
		}
		if (plan.previous) {
			const now = new Set(scan.entries.map((e) => e.path));
			for (const path of before.keys()) if (!now.has(path)) changes.deleted.push(path);
		}

		const stored = new Map<string, StoredFile>();
		const inconsistent: FilesInventory['inconsistent'] = [];
		const skipped = [...scan.skipped];
		const artifactPath = `files.${ARCHIVE_EXTENSION[plan.codec.method]}`;
		let archivedFiles = 0;
		let archivedBytes = 0;
		await writeTarArchive({
			set,
			artifactPath,
			codec: plan.codec,
			entries: toArchive,
			signal,
			onFile: (entry, file) => {
				stored.set(entry.path, file);
				if (file.skipped) skipped.push({ path: entry.path, reason: file.skipped });
				else {
					archivedFiles++;
					archivedBytes += file.size;
				}
				if (file.inconsistent) {
					inconsistent.push({ path: entry.path, reason: file.inconsistent });
					log.warn(`${entry.path} ${file.inconsistent}: its copy may be torn (hot backup of a file in use)`);
				}
			},
			onProgress: (p) =>
				log.info(`Files ${set.backupId}: ${formatBytes(p.bytes)} written, ${Math.round(p.elapsedMs / 1000)} s`),
		});
		// A file that vanished or became unreadable between the walk and the read is not in the archive: drop it from the index.
		const entries: FileEntry[] = [];
		for (const entry of scan.entries) {
			if (entry.type !== 'file') {
				entries.push(toIndexEntry(entry, null, null));
				continue;
			}
			const file = stored.get(entry.path);
			if (file?.skipped) {
				changes.added = changes.added.filter((p) => p !== entry.path);
				changes.changed = changes.changed.filter((p) => p !== entry.path);
				continue;
			}
			if (file)
				entries.push(
					toIndexEntry(
						{ ...entry, size: file.size, mtimeMs: file.mtimeMs, mode: file.mode },
						file.sha256,
						set.backupId,
					),
				);
			else {
				const old = unchangedHash.get(entry.path)!;
				entries.push(toIndexEntry(entry, old.sha256, old.from));
			}
		}
		const inventory: FilesInventory = {
			engine: 'protheus-files',
			entries,
			changes,
			inconsistent,
			skipped,
			promotedToFull: plan.promoted,
			totals: totalsOf(entries, archivedFiles, archivedBytes),
		};
		log.info(
			`Files ${set.backupId}: ${inventory.totals.files} files (${formatBytes(inventory.totals.bytes)}), ${archivedFiles} archived` +
				(plan.previous
					? `; ${changes.added.length} added, ${changes.changed.length} changed, ${changes.deleted.length} deleted`
					: '') +
				(inconsistent.length ? `; ${inconsistent.length} changed while read` : '') +
				(skipped.length ? `; ${skipped.length} skipped` : ''),
		);
		return {
			source: {
				host: hostname(),
				platform: process.platform,
				roots: plan.roots,
				appserverIni: plan.appserverIni,
				include: plan.include,
				exclude: plan.exclude,
				changeDetection: options.paranoid ? 'sha256' : 'size-mtime',
				archiver: `${packageInfo().name} ${packageInfo().version} (ustar/pax) + ${plan.codec.description}`,
			},
			inventory,
			compression: { method: plan.codec.method, level: plan.codec.level },
			options: {
				requestedType: request.type,
				paranoid: options.paranoid,
				promoteToFull: options.promoteToFull,
				protheusDefaults: options.protheusDefaults,
			},
		};
	}
}

/**
 * A differential or incremental compares the tree with its parent's index, and a sealed chain
 * must stay sealed. Both checked before anything is written (the set writer would only find an
 * unsealed parent after the whole archive): a sealed run on a parent made in the clear is refused
 * (its restore would need two kinds of set, and the chain would be half readable); a parent whose
 * index is sealed needs an identity to be read. The backup host keeps no plaintext copy of the
 * index anywhere (docs/sealing.md, "Protheus file sets"): sealed differentials and incrementals
 * need the identity on the host that makes them, or only fulls are made sealed.
 */
function refuseUnreadableParent(parent: ChainLink, requested: 'differential' | 'incremental'): void {
	const { manifest } = parent;
	const sealing = (currentSetKeys()?.recipients?.length ?? 0) > 0;
	if (sealing && !isSealed(manifest))
		throw new BackupError(
			'INVALID_INPUT',
			`Encryption is on, but this ${requested} backup would build on ${manifest.backupId}, which was made without encryption; a chain must be sealed from its full backup on, so nothing was written.`,
			'Make a full backup with "Encrypt and Sign" on first: the next differential/incremental backups build on it. Or turn encryption off until the next full backup.',
		);
	if (isSealedWithoutKeys(manifest))
		throw new BackupError(
			'INVALID_INPUT',
			`This ${requested} backup builds on ${manifest.backupId}, which is sealed (encrypted): its files index, needed to find what changed, can be read only with the identity (private key) of ${sealedFor(manifest).join(', ')}, and no identity was given; nothing was written.`,
			'Put the Identity (AGE-SECRET-KEY-1…) in the TOTVS Backup Keys credential of this TOTVS Dump (best a key pair of its own for the file sets, see docs/sealing.md), or make Full backups of the files when they are sealed.',
		);
}

/**
 * Whether a chown gave the entry another owner or group since the previous set (it changes
 * neither size nor mtime). Sets made before the index recorded owners have none: their
 * entries count as unchanged, so the first incremental after an upgrade does not re-archive
 * every file. Ids only: names follow the ids on this machine, and a directory service that
 * does not answer for once must not make every file look changed.
 */
function ownerChanged(old: FileEntry, entry: TreeEntry): boolean {
	if (typeof old.uid !== 'number' && typeof old.gid !== 'number') return false;
	return old.uid !== entry.uid || old.gid !== entry.gid;
}

function toIndexEntry(entry: TreeEntry, sha256: string | null, from: string | null): FileEntry {
	return {
		path: entry.path,
		type: entry.type,
		size: entry.type === 'file' ? entry.size : 0,
		mtime: isoMtime(entry.mtimeMs),
		mode: entry.mode,
		sha256: entry.type === 'file' ? sha256 : null,
		target: entry.target,
		from: entry.type === 'file' ? from : null,
		uid: entry.uid,
		gid: entry.gid,
		...(entry.uname ? { uname: entry.uname } : {}),
		...(entry.gname ? { gname: entry.gname } : {}),
	};
}

function totalsOf(entries: FileEntry[], archivedFiles: number, archivedBytes: number): FilesInventory['totals'] {
	const files = entries.filter((e) => e.type === 'file');
	return {
		files: files.length,
		dirs: entries.filter((e) => e.type === 'dir').length,
		symlinks: entries.filter((e) => e.type === 'symlink').length,
		bytes: files.reduce((sum, e) => sum + e.size, 0),
		archivedFiles,
		archivedBytes,
	};
}

/**
 * The roots to back up: the folders given plus, from an appserver.ini, the ini itself and each
 * environment's RootPath, SourcePath, RpoCustom and RPOTLPP. A path inside another root is not
 * a root of its own; a file named that way is always kept, whatever the include patterns say.
 */
export async function resolveRoots(
	options: FilesDumpOptions,
): Promise<Pick<Plan, 'roots' | 'forced' | 'appserverIni' | 'include' | 'exclude'>> {
	const wanted: string[] = [];
	for (const folder of options.folders.map((f) => f.trim()).filter(Boolean)) {
		if (!isAbsolutePath(folder))
			throw new BackupError(
				'INVALID_INPUT',
				`"${folder}" is not an absolute path`,
				"Give full paths, e.g. /totvs/protheus_data or D:\\TOTVS\\Protheus_Data (n8n's working folder is not a meaningful base).",
			);
		wanted.push(resolve(folder));
	}
	let appserverIni: FilesSourceFacts['appserverIni'] = null;
	if (options.appserverIni.trim()) {
		const iniPath = resolve(options.appserverIni.trim());
		const environments = pickEnvironments(await readAppserverIni(iniPath), options.iniEnvironments, iniPath);
		appserverIni = { path: iniPath, environments: environments.map((e) => e.name) };
		wanted.push(iniPath);
		for (const env of environments)
			for (const p of [env.rootPath, env.sourcePath, env.rpoCustom, env.rpoTlpp]) if (p) wanted.push(resolve(p));
	}
	if (!wanted.length)
		throw new BackupError(
			'INVALID_INPUT',
			'No folders to back up',
			'List the Protheus folders (Protheus_Data, the RPO folder, the AppServer folder) or give the path of an appserver.ini.',
		);
	const found: Array<{ path: string; kind: FilesRoot['kind'] }> = [];
	for (const path of [...new Set(wanted)]) {
		try {
			const info = await stat(path);
			found.push({ path, kind: info.isDirectory() ? 'folder' : 'file' });
		} catch (error) {
			throw new BackupError(
				'INVALID_INPUT',
				`Cannot back up ${path}: ${systemErrorCode(error) === 'ENOENT' ? 'it does not exist' : `not readable (${systemErrorCode(error) ?? (error as Error).message})`}`,
				appserverIni
					? `Check the folders and the paths in ${appserverIni.path}; they must exist on the n8n host (mount the share if AppServer runs elsewhere).`
					: 'Check the folder list; each path must exist on the n8n host.',
				{ cause: error },
			);
		}
	}
	const inside = (child: string, parent: string) => {
		const rel = relative(parent, child);
		return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
	};
	const top = found.filter((r) => !found.some((o) => o !== r && o.kind === 'folder' && inside(r.path, o.path)));
	const roots = labelRoots(top);
	const forced: string[] = [];
	for (const r of found) {
		if (r.kind !== 'file' || top.includes(r)) continue;
		const owner = roots.find((o) => o.kind === 'folder' && inside(r.path, o.path))!;
		forced.push(`${owner.label}/${relative(owner.path, r.path).split(sep).join('/')}`);
	}
	return {
		roots,
		forced,
		appserverIni,
		include: [...options.include, ...(options.protheusDefaults ? PROTHEUS_DEFAULT_INCLUDE : [])],
		exclude: [...options.exclude, ...(options.protheusDefaults ? PROTHEUS_DEFAULT_EXCLUDE : [])],
	};
}
