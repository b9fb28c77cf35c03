/**
 * Point-in-time sets as backup sets: a base or a WAL collection run end to end (set folder,
 * engine, manifest written last, then the slot released), and chains read back from manifests.
 * The manifest is the backup-set contract of every engine plus the `pitr` section
 * (core/backup-set/pitr-manifest.ts).
 */
import { hostname, tmpdir } from 'node:os';
import { basename, dirname } from 'node:path';
import { listSets, type CatalogEntry } from '../../backup-set/catalog';
import { checkEnvironmentName } from '../../backup-set/ids';
import { MANIFEST_FORMAT_VERSION, type Manifest, type ManifestOf } from '../../backup-set/manifest';
import { BackupSetWriter } from '../../backup-set/set-writer';
import { BackupError } from '../../errors';
import { prepareStagingFolder } from '../../location/staging-folder';
import { silentLogger, type Logger } from '../../logger';
import { packageInfo } from '../../package-info';
import type { PostgresConnection } from '../postgres';
import { takeBaseBackup, type PitrBackupOptions } from './base-backup';
import { chainEndTime, checkChain, type ChainReport } from './chain';
import { verifyBaseBackup } from './verify';
import { check, notRun, type CheckResult } from '../../checks/check';
import type { PitrTarget } from './restore-test';
import { PITR_ENGINE, type PitrSetRecord, type PitrWalInventory, type SlotReport } from './manifest';
import { releaseWal } from './slot';
import {
	isSealedSet,
	makeWorkFolder,
	openPitrFile,
	removeWorkFolder,
	requireSameSealing,
	sealedWithoutKeys,
} from './sealed';
import { collectWal } from './wal-collect';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export type PitrManifest = ManifestOf<'postgres-pitr'>;

/** The chain record of a committed set (what checkChain, the restore test and retention read). */
export function pitrRecordOf(manifest: Manifest, folder: string): PitrSetRecord {
	if (manifest.engine !== PITR_ENGINE || !manifest.pitr)
		throw new BackupError(
			'INVALID_INPUT',
			`${manifest.backupId} is a ${manifest.engine} set, not a point-in-time (postgres-pitr) set`,
			'Point this step at the sets of a TOTVS Dump "PostgreSQL (point in time)".',
		);
	const m = manifest as PitrManifest;
	return {
		backupId: m.backupId,
		folder,
		type: m.type === 'full' ? 'full' : 'incremental',
		source: m.source,
		pitr: m.pitr,
		artifacts: m.artifacts,
		inventory: m.inventory?.engine === 'postgres' ? m.inventory : undefined,
		...(m.encryption.method === 'age' ? { sealedFor: m.encryption.recipients.map((r) => r.fingerprint) } : {}),
	};
}

/**
 * The chains of an environment's point-in-time sets, oldest first: each base with the WAL sets
 * that continue it (each naming the previous set as its parent). Sets of other engines are
 * left out.
 */
export function chainsOf(entries: Array<{ folder: string; manifest: Manifest }>): PitrSetRecord[][] {
	const pitr = entries.filter((e) => e.manifest.engine === PITR_ENGINE && e.manifest.pitr);
	const byParent = new Map<string, Array<{ folder: string; manifest: Manifest }>>();
	for (const e of pitr)
		if (e.manifest.parentBackupId) {
			const list = byParent.get(e.manifest.parentBackupId) ?? [];
			list.push(e);
			byParent.set(e.manifest.parentBackupId, list);
		}
	const chains: PitrSetRecord[][] = [];
	for (const base of pitr.filter((e) => e.manifest.pitr?.kind === 'base')) {
		const chain = [pitrRecordOf(base.manifest, base.folder)];
		for (let at = base; ;) {
			// Two children of one set happen only when a run was repeated by hand: the later one wins.
			const next = (byParent.get(at.manifest.backupId) ?? []).sort((a, b) =>
				a.manifest.startedAt.localeCompare(b.manifest.startedAt),
			);
			const child = next[next.length - 1];
			if (!child) break;
			chain.push(pitrRecordOf(child.manifest, child.folder));
			at = child;
		}
		chains.push(chain);
	}
	return chains.sort((a, b) => a[0].backupId.localeCompare(b[0].backupId));
}

/** The newest chain of an environment in a local folder, or null when there is no base yet. */
export async function newestChain(root: string, environment: string): Promise<PitrSetRecord[] | null> {
	const catalog = await listSets(root, checkEnvironmentName(environment));
	const chains = chainsOf(catalog.sets as CatalogEntry[]);
	return chains.length ? chains[chains.length - 1] : null;
}

export interface PitrRunInput {
	connection: PostgresConnection;
	environment: string;
	stagingFolder?: string;
	options: PitrBackupOptions;
	log: Logger;
	signal?: AbortSignal;
}

export interface PitrRunResult {
	manifest: PitrManifest;
	folder: string;
	manifestPath: string;
	/** The slot after the run, released up to this set's end. */
	slot: SlotReport;
	warnings: string[];
}

function manifestOfRun(
	set: BackupSetWriter,
	startedAt: Date,
	parts: Pick<
		PitrManifest,
		'type' | 'baseBackupId' | 'parentBackupId' | 'source' | 'pitr' | 'inventory' | 'compression'
	>,
	options: PitrBackupOptions,
): PitrManifest {
	const finishedAt = new Date();
	const pkg = packageInfo();
	return {
		formatVersion: MANIFEST_FORMAT_VERSION,
		backupId: set.backupId,
		environment: set.environment,
		component: 'database',
		engine: PITR_ENGINE,
		...parts,
		startedAt: startedAt.toISOString(),
		finishedAt: finishedAt.toISOString(),
		durationMs: finishedAt.getTime() - startedAt.getTime(),
		createdBy: { package: pkg.name, version: pkg.version, hostname: hostname() },
		options: {
			compression: options.compression,
			compressionLevel: options.compressionLevel,
			compressOn: options.compressOn,
			checkpoint: options.checkpoint,
		},
		encryption: { method: 'none' },
		artifacts: set.artifacts,
	};
}

/**
 * Runs `make` in a new set and commits it. Sealed (the execution's keys have recipients, see
 * set-keys.ts): the PostgreSQL program writes into a private working folder, each file is
 * encrypted into the set and its plaintext removed, and the working folder goes before the
 * manifest is written, also on failure or cancel (sealed.ts).
 */
async function inSet<T extends PitrRunResult>(
	input: PitrRunInput,
	type: 'full' | 'incremental',
	make: (set: BackupSetWriter, startedAt: Date, workFolder?: string) => Promise<Omit<T, 'folder' | 'manifestPath'>>,
	before?: (sealed: boolean) => void,
): Promise<T> {
	const environment = checkEnvironmentName(input.environment);
	const root = await prepareStagingFolder(input.stagingFolder);
	const startedAt = new Date();
	const set = await BackupSetWriter.create(root, environment, type, 'database', startedAt);
	try {
		before?.(set.sealed);
		const workFolder = set.sealed ? await makeWorkFolder(set) : undefined;
		let made: Omit<T, 'folder' | 'manifestPath'>;
		try {
			made = await make(set, startedAt, workFolder);
		} finally {
			if (workFolder) await removeWorkFolder(workFolder);
		}
		const manifestPath = await set.commit(made.manifest as unknown as Manifest);
		return { ...made, folder: set.folder, manifestPath } as T;
	} catch (error) {
		await set.abort();
		throw error;
	}
}

/**
 * A base backup as a set (type full): pg_basebackup through the environment's slot, the
 * manifest, then the slot released up to the base's end.
 */
export function makePitrBase(input: PitrRunInput): Promise<PitrRunResult> {
	return inSet(input, 'full', async (set, startedAt, workFolder) => {
		const outcome = await takeBaseBackup({ ...input, set, workFolder });
		const manifest = manifestOfRun(
			set,
			startedAt,
			{
				type: 'full',
				baseBackupId: null,
				parentBackupId: null,
				source: outcome.source,
				pitr: outcome.pitr,
				inventory: outcome.inventory,
				compression: outcome.compression,
			},
			input.options,
		);
		// Committed before the slot lets the server recycle anything (inSet commits; release after).
		return { manifest, slot: outcome.slot, warnings: outcome.warnings };
	}).then(async (result) => ({
		...result,
		slot: await releaseWal(
			input.connection,
			result.manifest.source.slotName,
			stopOf(result.manifest),
			input.options.slotWarnBytes,
		),
	}));
}

/**
 * One incremental as a set: the WAL since `previous` (the chain's newest set) up to the
 * server's position at the start of the run, the manifest, then the slot released.
 */
export function makePitrIncremental(input: PitrRunInput & { chain: PitrSetRecord[] }): Promise<PitrRunResult> {
	const previous = input.chain[input.chain.length - 1];
	return inSet(
		input,
		'incremental',
		async (set, startedAt, workFolder) => {
			const outcome = await collectWal({ ...input, set, previous, workFolder });
			const inventory: PitrWalInventory = {
				engine: 'postgres-wal',
				segments: outcome.pitr.segments.length,
				walBytes: outcome.artifacts.reduce((sum, a) => sum + a.bytes, 0),
			};
			const manifest = manifestOfRun(
				set,
				startedAt,
				{
					type: 'incremental',
					baseBackupId: input.chain[0].backupId,
					parentBackupId: previous.backupId,
					source: outcome.source,
					pitr: outcome.pitr,
					inventory,
					compression: { method: 'gzip', level: null },
				},
				input.options,
			);
			return { manifest, slot: outcome.slot, warnings: outcome.warnings };
		},
		(sealed) => requireSameSealing(previous, sealed),
	).then(async (result) => ({
		...result,
		slot: await releaseWal(
			input.connection,
			result.manifest.source.slotName,
			stopOf(result.manifest),
			input.options.slotWarnBytes,
		),
	}));
}

const stopOf = (manifest: PitrManifest) =>
	manifest.pitr.kind === 'base' ? manifest.pitr.stopLsn : manifest.pitr.endLsn;

/**
 * What an incremental run continues from: the newest chain in the staging folder, if it is
 * intact (a break, reported, means the next run must be a full).
 */
export async function chainToContinue(
	stagingFolder: string | undefined,
	environment: string,
): Promise<{ chain: PitrSetRecord[] | null; report: ChainReport | null }> {
	const chain = await newestChain(await prepareStagingFolder(stagingFolder), environment);
	if (!chain) return { chain: null, report: null };
	return { chain, report: await checkChain(chain, { hashes: false }) };
}

/** Where a restore test's scratch folders go when none is named. */
export const defaultScratchFolder = () => tmpdir();

/**
 * The chain a restore to `target` uses, from a backups folder and environment, or from the
 * folder of one of its sets (`<root>/<environment>/<backupId>`): the newest chain whose base
 * ended before the target; the newest chain for the end.
 */
export async function chainForTarget(
	location: { root: string; environment: string } | { setFolder: string },
	target: PitrTarget,
): Promise<{ chain: PitrSetRecord[]; environment: string }> {
	const { root, environment } =
		'setFolder' in location
			? { root: dirname(dirname(location.setFolder)), environment: basename(dirname(location.setFolder)) }
			: location;
	const catalog = await listSets(root, checkEnvironmentName(environment));
	const chains = chainsOf(catalog.sets);
	if (!chains.length) {
		// Sets that are there but cannot be read (a sealed set without the right identity, a
		// signature that does not verify) are the reason, not an empty folder: say so.
		const unreadable = catalog.invalid.map((i) => `${basename(i.folder)}: ${i.reason}`);
		throw new BackupError(
			'SET_NOT_FOUND',
			unreadable.length
				? `No readable point-in-time base backup of ${environment} in ${root}; ${unreadable.length} set(s) could not be read: ${unreadable.slice(0, 2).join('; ')}`
				: `No point-in-time base backup of ${environment} in ${root}`,
			unreadable.length
				? 'Give the keys those sets need (the TOTVS Backup Keys credential: the Identity of the fingerprints named, the Trusted Signing Keys), or use another copy.'
				: 'Run TOTVS Dump with Source PostgreSQL (Point in Time), Base Backup (Full), then the incrementals.',
		);
	}
	if (!('time' in target)) return { chain: chains[chains.length - 1], environment };
	const at = target.time.getTime();
	const fitting = chains.filter((c) => new Date(chainEndTime(c[0])).getTime() <= at);
	// None fits: the oldest chain, whose restore test says which range it covers.
	return { chain: fitting.length ? fitting[fitting.length - 1] : chains[0], environment };
}

/**
 * TOTVS Verify's structural checks of a point-in-time set (after its artifacts' sizes and
 * SHA-256): a base with pg_verifybackup (every file's checksum, its WAL parsed); a WAL set by the
 * continuity of its chain, read from the folder the set is in (`<root>/<environment>/<id>`), from
 * its base up to it (every set present with its sizes, contiguous LSN ranges on one timeline).
 */
export async function checkPitrSet(
	folder: string,
	manifest: Manifest,
	options: { pgClientFolder?: string; scratchFolder?: string },
): Promise<CheckResult[]> {
	const record = pitrRecordOf(manifest, folder);
	const results: CheckResult[] = [];
	if (record.pitr.kind === 'base') {
		const report = await verifyBaseBackup({
			set: record,
			hashesChecked: true,
			scratchFolder: options.scratchFolder ?? defaultScratchFolder(),
			binFolder: options.pgClientFolder,
			log: silentLogger,
		});
		for (const c of report.checks)
			results.push(
				c.notRun
					? notRun(c.name, 'backup verified against its backup_manifest', c.detail)
					: check(
							c.name,
							c.passed,
							'backup verified against its backup_manifest',
							c.passed ? 'verified' : 'failed',
							c.detail,
						),
			);
		return results;
	}
	if (isSealedSet(record)) results.push(await checkSealedContent(record));
	const root = dirname(dirname(folder));
	const chain = chainsOf((await listSets(root, manifest.environment)).sets).find((c) =>
		c.some((s) => s.backupId === manifest.backupId),
	);
	const upTo = chain ? chain.slice(0, chain.findIndex((s) => s.backupId === manifest.backupId) + 1) : null;
	const report = upTo ? await checkChain(upTo, { hashes: false }) : null;
	results.push(
		check(
			'point-in-time chain',
			Boolean(report?.ok),
			`an intact chain from base ${manifest.baseBackupId} to this set`,
			report ? (report.ok ? `${upTo!.length} sets, ${report.segments} segments` : report.problems[0]) : 'no chain',
			report
				? report.ok
					? `Chain ${upTo![0].backupId} → ${manifest.backupId} is contiguous on timeline ${report.timeline}: restorable from ${report.from?.time} to ${report.to?.time}`
					: `The chain is broken: ${report.problems.slice(0, 3).join('; ')}. Start a new base backup (run the full).`
				: `Base ${manifest.baseBackupId} or a set between it and ${manifest.backupId} is not in ${root}: verify the set where its chain is (the staging folder or a downloaded copy of the whole chain).`,
		),
	);
	return results;
}

/**
 * A sealed WAL set's content: with the identity, every file decrypted (each chunk authenticated)
 * and its plaintext SHA-256 compared with the sealed part's; nothing is written. Without it, not
 * run, naming the keys it needs.
 */
async function checkSealedContent(set: PitrSetRecord): Promise<CheckResult> {
	const expected = 'every file decrypts to the plaintext SHA-256 of the sealed manifest';
	if (sealedWithoutKeys(set))
		return notRun(
			'decrypted content',
			expected,
			`The set is encrypted and no identity was given: its ciphertext was checked (artifacts), its content needs the private key of ${set.sealedFor!.join(', ')} (Use Backup Keys with an Identity)`,
		);
	const files = set.artifacts.filter((a) => set.pitr.kind === 'wal' && a.path.startsWith('wal/'));
	try {
		for (const artifact of files)
			await pipeline(
				openPitrFile(set, artifact.path),
				new Writable({ write: (_chunk, _encoding, callback) => callback() }),
			);
	} catch (error) {
		return check('decrypted content', false, expected, 'failed', (error as Error).message);
	}
	return check(
		'decrypted content',
		true,
		expected,
		`${files.length} files`,
		`${files.length} WAL files decrypt and match their plaintext SHA-256`,
	);
}
