import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, mkdir, mkdtemp, readdir, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import type { FileEntry, FilesRoot } from '../../backup-set/files-manifest';
import { manifestOf } from '../../backup-set/manifest';
import { allPassed, check, listNames, notRun, type CheckResult } from '../../checks/check';
import { verifySetFolder } from '../../checks/set-verification';
import { BackupError, isBackupError } from '../../errors';
import type { Logger } from '../../logger';
import { SCRATCH_PREFIX } from '../../restore-shared/prefixes';
import { notRestored, type RestoreReport } from '../../restore-shared/report';
import { readAppserverIni } from './appserver-ini';
import { refuseSealedWithoutIdentity, resolveChain, type FilesManifest } from './chain';
import { OwnerResolver, ownerOfIndexEntry } from './restore/owners';
import { restoreFilesChain, type FilesRestoreResult } from './restore/chain-restore';
import { checkFilesSet } from './verify';

export interface FilesRestoreTestRequest {
	/** The set folder (holding manifest.json): the chain is restored "as of" this set. */
	folder: string;
	/** Where the scratch folder is made (empty: the system's temporary folder). */
	scratchFolder?: string;
	/** Keep the restored tree when the restore or a check fails, for investigation. */
	keepOnFailure: boolean;
	log: Logger;
	/** n8n's execution cancel signal: the restore stops and the scratch folder is removed. */
	signal?: AbortSignal;
	/** The zstd program; found on the PATH when empty. */
	zstdPath?: string;
}

/**
 * Restore Test of a Protheus file set: the set and its chain verified, the chain (full →
 * differential → incrementals) extracted into a scratch folder with the real restore, and the
 * restored tree checked against the set's index (every entry, its size, SHA-256, mode, owners as
 * root, deletions applied, nothing extra) and against each appserver.ini it holds (the folders
 * and RPOs it names are there and not empty). The scratch folder is removed afterwards (kept on
 * failure only when asked; always removed on cancel). `database` in the report is the scratch
 * folder. Failed checks are reported; errors of the environment are thrown.
 */
export async function runFilesRestoreTest(request: FilesRestoreTestRequest): Promise<RestoreReport> {
	await refuseSealedWithoutIdentity(request.folder);
	const options = { zstdPath: request.zstdPath };
	const { manifest: any, verification } = await verifySetFolder(request.folder, options, {
		'protheus-files': checkFilesSet,
	});
	if (!any || !verification.ok) return notRestored(any, verification.checks);
	const manifest = manifestOf(any, 'protheus-files', request.folder);
	throwIfCancelled(request.signal, undefined);
	const parent = request.scratchFolder?.trim() || tmpdir();
	await mkdir(parent, { recursive: true });
	const scratch = await mkdtemp(join(parent, `${SCRATCH_PREFIX}${manifest.backupId}-`));
	let keep = false;
	try {
		const started = Date.now();
		let restored: FilesRestoreResult;
		try {
			restored = await restoreFilesChain({
				setFolder: request.folder,
				target: scratch,
				log: request.log,
				signal: request.signal,
				zstdPath: request.zstdPath,
			});
		} catch (error) {
			throwIfCancelled(request.signal, scratch);
			if (!isBackupError(error) || error.code === 'CANCELLED') throw error;
			const failed = check('restore', false, 'the chain extracted', 'failed', `${error.message}. ${error.hint}`);
			keep = request.keepOnFailure;
			return {
				...notRestored(any, verification.checks),
				checks: [...verification.checks, failed],
				restoreMs: Date.now() - started,
				database: keep ? scratch : null,
				kept: keep,
			};
		}
		const restoreMs = Date.now() - started;
		request.log.info(`Restored ${restored.chain.join(' → ')} into ${scratch} in ${restoreMs} ms; checking the tree`);
		const checksStarted = Date.now();
		const checks = [
			...verification.checks,
			...(await checkRestoredCopy(request.folder, scratch, manifest, restored, request.signal)),
		];
		const passed = allPassed(checks);
		keep = !passed && request.keepOnFailure;
		if (keep) request.log.warn(`Restore test of ${manifest.backupId} failed: the restored tree is kept in ${scratch}`);
		return {
			backupId: manifest.backupId,
			manifest: any,
			passed,
			restoreMs,
			checksMs: Date.now() - checksStarted,
			restoredBytes: manifest.inventory.totals.bytes,
			database: scratch,
			kept: keep,
			checks,
		};
	} catch (error) {
		keep = false;
		throwIfCancelled(request.signal, scratch);
		throw error;
	} finally {
		if (!keep) await rm(scratch, { recursive: true, force: true });
	}
}

/**
 * The checks of a restored tree, the same for a Restore Test and a Restore: the chain extracted,
 * the tree against the index, the Protheus paths of each appserver.ini.
 */
export async function checkRestoredCopy(
	setFolder: string,
	restoredRoot: string,
	manifest: FilesManifest,
	restored: FilesRestoreResult,
	signal?: AbortSignal,
): Promise<CheckResult[]> {
	return [
		check(
			'restore',
			true,
			'the chain extracted',
			`${restored.chain.length} sets: ${restored.chain.join(' → ')}`,
			`${restored.files} files, ${restored.dirs} folders, ${restored.symlinks} links restored`,
		),
		...(await checkRestoredTree(setFolder, restoredRoot, manifest, restored, signal)),
		...(await checkProtheusPaths(restoredRoot, manifest)),
	];
}

function throwIfCancelled(signal: AbortSignal | undefined, scratch: string | undefined): void {
	if (!signal?.aborted) return;
	throw new BackupError(
		'CANCELLED',
		scratch ? `The restore test into ${scratch} was cancelled` : 'The restore test was cancelled',
		'Nothing was kept: the scratch folder was removed.',
	);
}

interface Found {
	type: FileEntry['type'];
	mode: number;
	size: number;
	uid: number;
	gid: number;
	path: string;
	target?: string;
}

/** Every entry under `root` (links not followed), by forward-slash relative path. */
async function walk(root: string, signal?: AbortSignal): Promise<Map<string, Found>> {
	const out = new Map<string, Found>();
	const visit = async (dir: string, prefix: string) => {
		for (const name of await readdir(dir)) {
			throwIfCancelled(signal, root);
			const path = join(dir, name);
			const rel = prefix ? `${prefix}/${name}` : name;
			const info = await lstat(path);
			const type = info.isSymbolicLink() ? 'symlink' : info.isDirectory() ? 'dir' : info.isFile() ? 'file' : undefined;
			// Sockets and devices are never restored: an "other" entry is always extra.
			out.set(rel, {
				type: type ?? ('other' as never),
				mode: info.mode & 0o7777,
				size: info.size,
				uid: info.uid,
				gid: info.gid,
				path,
				target: type === 'symlink' ? await readlink(path) : undefined,
			});
			if (type === 'dir') await visit(path, rel);
		}
	};
	await visit(root, '');
	return out;
}

async function sha256Of(path: string): Promise<string> {
	const hash = createHash('sha256');
	for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
	return hash.digest('hex');
}

/**
 * The restored tree against the index, read back from disk (not from what the writer said):
 * content, modes, owners (as root), deletions, extras. Links the restore refused (pointing
 * outside the tree) are expected to be absent and are named.
 */
async function checkRestoredTree(
	setFolder: string,
	scratch: string,
	manifest: FilesManifest,
	restored: FilesRestoreResult,
	signal?: AbortSignal,
): Promise<CheckResult[]> {
	const entries = manifest.inventory.entries;
	const found = await walk(scratch, signal);
	const refused = new Set(restored.refusedLinks.map((l) => l.path));
	const content: string[] = [];
	const modes: string[] = [];
	for (const entry of entries) {
		throwIfCancelled(signal, scratch);
		const got = found.get(entry.path);
		if (!got) {
			if (!refused.has(entry.path)) content.push(`${entry.path}: missing`);
			continue;
		}
		if (got.type !== entry.type) {
			content.push(`${entry.path}: a ${got.type}, the index has a ${entry.type}`);
			continue;
		}
		if (entry.type === 'symlink') {
			if (got.target !== entry.target)
				content.push(`${entry.path}: link to ${got.target}, the index has ${entry.target}`);
			continue;
		}
		if (got.mode !== entry.mode) modes.push(`${entry.path}: ${octal(got.mode)}, the index has ${octal(entry.mode)}`);
		if (entry.type === 'file') {
			if (got.size !== entry.size) content.push(`${entry.path}: ${got.size} bytes, the index has ${entry.size}`);
			else if ((await sha256Of(got.path)) !== entry.sha256)
				content.push(`${entry.path}: SHA-256 differs from the index (${entry.size} bytes)`);
		}
	}
	const indexed = new Set(entries.map((e) => e.path));
	const extra = [...found.keys()].filter((p) => !indexed.has(p));
	// Manifests only: cheap to read again.
	const { gone: deleted, shown } = deletedAlongTheChain(await resolveChain(resolve(setFolder)), indexed);
	const stillThere = deleted.filter((p) => found.has(p));
	const counts = `${manifest.inventory.totals.files} files, ${manifest.inventory.totals.dirs} folders, ${manifest.inventory.totals.symlinks} links`;
	const refusedNote = refused.size
		? ` (${refused.size} links pointing outside the tree not created, as a restore never creates them: ${listNames([...refused])})`
		: '';
	return [
		content.length
			? check('tree', false, `every entry of the index: ${counts}`, `${content.length} differ`, listNames(content, 20))
			: check(
					'tree',
					true,
					`every entry of the index: ${counts}`,
					'all present with their size and SHA-256',
					`Every file re-read from the restored tree and hashed${refusedNote}`,
				),
		modes.length
			? check(
					'modes',
					false,
					'the recorded mode of every file and folder',
					`${modes.length} differ`,
					listNames(modes, 20),
				)
			: check('modes', true, 'the recorded mode of every file and folder', 'all equal', 'Permission bits as recorded'),
		await checkOwners(entries, found),
		stillThere.length
			? check(
					'deletions',
					false,
					`${deleted.length} paths deleted along the chain absent`,
					`${stillThere.length} still there`,
					listNames(stillThere, 20),
				)
			: check(
					'deletions',
					true,
					`${deleted.length} paths deleted along the chain absent`,
					'all absent',
					shown.length ? `Deleted along the chain: ${listNames(shown)}` : 'Nothing was deleted along the chain',
				),
		extra.length
			? check('extra', false, 'nothing outside the index', `${extra.length} extra entries`, listNames(extra, 20))
			: check(
					'extra',
					true,
					'nothing outside the index',
					'nothing extra',
					'The restored tree holds only what the index lists',
				),
	];
}

/** Paths some set of the chain deleted and the final index does not hold again. */
function deletedAlongTheChain(
	chain: Awaited<ReturnType<typeof resolveChain>>,
	indexed: Set<string>,
): { gone: string[]; shown: string[] } {
	const deleted = new Set<string>();
	for (const link of chain) for (const path of link.manifest.inventory.changes.deleted) deleted.add(path);
	const gone = [...deleted].filter((p) => !indexed.has(p)).sort();
	// A deleted folder's entries are checked too, but named by the folder alone.
	const shown = gone.filter((p) => !gone.some((q) => p.startsWith(`${q}/`)));
	return { gone, shown };
}

const octal = (mode: number) => `0${mode.toString(8)}`;

/** Owners as `tar -x` run as root sets them: names looked up here, the recorded id otherwise. */
async function checkOwners(entries: FileEntry[], found: Map<string, Found>): Promise<CheckResult> {
	const expected = 'the recorded owner and group of every entry';
	const recorded = entries.filter((e) => ownerOfIndexEntry(e));
	if (process.getuid?.() !== 0)
		return notRun('owners', expected, 'Only a restore run as root sets owners (like tar -x): not checked here');
	if (!recorded.length)
		return notRun('owners', expected, 'The index records no owners (a set made by an older version)');
	const resolver = new OwnerResolver(false);
	await resolver.load(recorded.map((e) => ownerOfIndexEntry(e)!));
	const wrong: string[] = [];
	for (const entry of recorded) {
		const want = resolver.resolve(ownerOfIndexEntry(entry)!);
		const got = found.get(entry.path);
		if (!want || !got) continue;
		if ((want.uid >= 0 && got.uid !== want.uid) || (want.gid >= 0 && got.gid !== want.gid))
			wrong.push(`${entry.path}: ${got.uid}:${got.gid}, expected ${want.uid}:${want.gid}`);
	}
	return wrong.length
		? check('owners', false, expected, `${wrong.length} differ`, listNames(wrong, 20))
		: check('owners', true, expected, `${recorded.length} entries as recorded`, 'Owners and groups as recorded');
}

/**
 * Where a path on the backed-up host lies in the restored tree: under the root that holds it
 * (the longest), by its suffix. Windows paths compare case-insensitively with either slash.
 */
export function mapIntoRestoredTree(path: string, roots: FilesRoot[], restoredRoot: string): string | undefined {
	const windows = /^[A-Za-z]:[\\/]|^\\\\/.test(path) || roots.some((r) => /^[A-Za-z]:[\\/]|^\\\\/.test(r.path));
	const norm = (p: string) => {
		const slashed = p
			.replace(/\\/g, '/')
			.replace(/\/+/g, '/')
			.replace(/(.)\/$/, '$1');
		return windows ? slashed.toLowerCase() : slashed;
	};
	const wanted = norm(path);
	let best: { root: FilesRoot; rest: string } | undefined;
	for (const root of roots) {
		const base = norm(root.path);
		if (wanted === base) best = { root, rest: '' };
		else if (root.kind === 'folder' && wanted.startsWith(base.endsWith('/') ? base : `${base}/`)) {
			const rest = path
				.replace(/\\/g, '/')
				.replace(/\/+/g, '/')
				.replace(/\/$/, '')
				.slice(base.length)
				.replace(/^\//, '');
			if (!best || norm(best.root.path).length < base.length) best = { root, rest };
		}
	}
	return best ? join(restoredRoot, best.root.label, ...best.rest.split('/').filter(Boolean)) : undefined;
}

/**
 * The Protheus checks: each appserver.ini of the set parses, and each environment's RootPath,
 * SourcePath (with at least one RPO), RpoCustom and RpoTlpp exist in the restored tree and are
 * not empty. A path outside the backed-up folders is a check not run, with why.
 */
async function checkProtheusPaths(scratch: string, manifest: FilesManifest): Promise<CheckResult[]> {
	const { roots } = manifest.source;
	const inis = manifest.inventory.entries.filter(
		(e) => e.type === 'file' && basename(e.path).toLowerCase() === 'appserver.ini',
	);
	if (!inis.length)
		return [
			notRun(
				'appserver.ini',
				'each appserver.ini parses and the paths it names are restored',
				'The set holds no appserver.ini (its folders were given directly): the Protheus checks need one',
			),
		];
	const checks: CheckResult[] = [];
	for (const ini of inis) {
		const restoredIni = join(scratch, ...ini.path.split('/'));
		const originalIni = originalPathOf(ini.path, roots);
		let environments;
		try {
			environments = await readAppserverIni(restoredIni);
		} catch (error) {
			checks.push(check(`ini ${ini.path}`, false, 'readable', 'unreadable', (error as Error).message));
			continue;
		}
		checks.push(
			environments.length
				? check(
						`ini ${ini.path}`,
						true,
						'parses, with environments',
						environments.map((e) => e.name).join(', '),
						`${ini.path} parses`,
					)
				: check(
						`ini ${ini.path}`,
						false,
						'parses, with environments',
						'no environment',
						`${ini.path} has no section with SourcePath or RootPath`,
					),
		);
		for (const environment of environments) {
			const named: Array<[string, string | undefined, 'dir' | 'file']> = [
				['RootPath', environment.rootPath, 'dir'],
				['SourcePath', environment.sourcePath, 'dir'],
				['RpoCustom', environment.rpoCustom, 'file'],
				['RpoTlpp', environment.rpoTlpp, 'file'],
			];
			for (const [key, value, kind] of named) {
				if (!value) continue;
				// Relative paths were resolved against the restored ini's folder: put them back where the ini was.
				const original =
					originalIni && value.startsWith(dirname(restoredIni) + sep)
						? join(dirname(originalIni), relative(dirname(restoredIni), value))
						: value;
				checks.push(await checkNamedPath(`${environment.name} ${key}`, original, kind, roots, scratch));
			}
		}
	}
	return checks;
}

/** The backed-up host's path of an index path (`<label>/<rest>`). */
function originalPathOf(indexPath: string, roots: FilesRoot[]): string | undefined {
	const [label, ...rest] = indexPath.split('/');
	const root = roots.find((r) => r.label === label);
	if (!root) return undefined;
	return rest.length ? `${root.path.replace(/[\\/]+$/, '')}/${rest.join('/')}` : root.path;
}

async function checkNamedPath(
	name: string,
	original: string,
	kind: 'dir' | 'file',
	roots: FilesRoot[],
	scratch: string,
): Promise<CheckResult> {
	const expected =
		kind === 'dir'
			? `${original}: a folder, not empty${name.endsWith('SourcePath') ? ', with an RPO' : ''}`
			: `${original}: a file, not empty`;
	const restored = mapIntoRestoredTree(original, roots, scratch);
	if (!restored)
		return notRun(
			name,
			expected,
			`${original} is outside the backed-up folders (${roots.map((r) => r.path).join(', ')}), so the restored tree cannot hold it`,
		);
	const shown = relative(scratch, restored).split(sep).join('/');
	const info = await lstat(restored).catch(() => undefined);
	if (!info) return check(name, false, expected, `${shown} missing`, `${original} is not in the restored tree`);
	if (kind === 'file') {
		return info.isFile() && info.size > 0
			? check(name, true, expected, `${shown}: ${info.size} bytes`, `${original} restored`)
			: check(
					name,
					false,
					expected,
					`${shown}: ${info.isFile() ? 'empty' : 'not a file'}`,
					`${original} is not a usable file`,
				);
	}
	if (!info.isDirectory()) return check(name, false, expected, `${shown}: not a folder`, `${original} is not a folder`);
	const names = await readdir(restored);
	if (!names.length)
		return check(name, false, expected, `${shown}: empty`, `${original} is empty in the restored tree`);
	if (name.endsWith('SourcePath')) {
		const rpos: string[] = [];
		for (const n of names.filter((n) => n.toLowerCase().endsWith('.rpo'))) {
			const rpo = await lstat(join(restored, n));
			if (rpo.isFile() && rpo.size > 0) rpos.push(n);
		}
		if (!rpos.length)
			return check(name, false, expected, `${shown}: no RPO`, `${original} holds no non-empty .rpo file`);
		return check(name, true, expected, `${shown}: ${listNames(rpos)}`, `${original} restored with its RPO`);
	}
	return check(name, true, expected, `${shown}: ${names.length} entries`, `${original} restored`);
}
