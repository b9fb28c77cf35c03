import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { join } from 'node:path';
import { BackupError } from '../../errors';
import type { Logger } from '../../logger';
import { checkChain, type ChainReport } from './chain';
import { extractTar } from './extract';
import { isSealedSet, openPitrFile, sealedWithoutKeys } from './sealed';
import type { PitrBaseSection, PitrSetRecord } from './manifest';
import { findPitrClient, runTool } from './tools';

/** Bound on pg_verifybackup (it reads every file of the base once). */
const VERIFY_TIMEOUT_MS = 6 * 60 * 60 * 1000;
export interface VerifyCheck {
	name: string;
	passed: boolean;
	detail: string;
	/** Not run (a sealed set without the identity): neither passed nor failed. */
	notRun?: boolean;
}

export interface BaseVerifyReport {
	ok: boolean;
	checks: VerifyCheck[];
	/** pg_verifybackup's own words. */
	output: string;
	durationMs: number;
}

export interface BaseVerifyRequest {
	set: PitrSetRecord;
	/** Skip the size and SHA-256 check of the artifacts (the caller just did it). */
	hashesChecked?: boolean;
	/** A folder with room for the extracted data folder (the set's dataBytes plus its WAL). */
	scratchFolder: string;
	binFolder?: string;
	log: Logger;
	signal?: AbortSignal;
}

/**
 * Verifies a base backup: the artifacts' sizes and SHA-256, then pg_verifybackup against the
 * backup_manifest (every file's size and checksum, and the WAL from the backup's start to its
 * end parsed with pg_waldump). PostgreSQL 15's pg_verifybackup reads plain folders only, so the
 * tars are extracted to a scratch folder first, which is always removed. A pg_verifybackup of a
 * newer major checks the files but cannot parse this major's WAL: then WAL parsing is skipped
 * and the report says so.
 */
export async function verifyBaseBackup(request: BaseVerifyRequest): Promise<BaseVerifyReport> {
	const { set, log } = request;
	const started = Date.now();
	if (set.pitr.kind !== 'base')
		throw new BackupError(
			'INVALID_INPUT',
			`${set.backupId} is a WAL set, not a base backup`,
			'Verify WAL sets with checkChain.',
		);
	const pitr: PitrBaseSection = set.pitr;
	const checks: VerifyCheck[] = [];
	if (!request.hashesChecked) {
		const hashes = await checkChain([set], { hashes: true });
		checks.push({
			name: 'artifacts',
			passed: hashes.ok,
			detail: hashes.ok ? `${hashes.hashedArtifacts} files match their size and SHA-256` : hashes.problems.join('; '),
		});
		if (!hashes.ok) return { ok: false, checks, output: '', durationMs: Date.now() - started };
	}

	if (sealedWithoutKeys(set)) {
		checks.push({
			name: 'pg_verifybackup',
			passed: true,
			notRun: true,
			detail: `The set is encrypted and no identity was given: its ciphertext was checked (artifacts), its content needs the private key of ${set.sealedFor!.join(', ')} (Use Backup Keys with an Identity)`,
		});
		return { ok: checks.every((c) => c.passed), checks, output: '', durationMs: Date.now() - started };
	}
	const major = Math.floor(set.source.serverVersionNum / 10000);
	const tool = await findPitrClient('pg_verifybackup', major, request.binFolder);
	const parseWal = tool.major === major;
	const scratch = await mkdtemp(join(request.scratchFolder, 'totvs-verify-'));
	try {
		const data = join(scratch, 'data');
		// A sealed set is decrypted on the fly into the scratch folder (each file's plaintext
		// SHA-256 checked against the sealed part as it is read); the folder is removed below.
		const file = (relative: string) => join(set.folder, ...relative.split('/'));
		const raw = (relative: string) => openPitrFile(set, relative);
		await extractTar(file(pitr.baseArchive), data, undefined, request.signal, raw(pitr.baseArchive));
		await extractTar(file(pitr.walArchive), join(data, 'pg_wal'), undefined, request.signal, raw(pitr.walArchive));
		// pg_verifybackup expects each tablespace's files under pg_tblspc/<oid>/, as the manifest lists them.
		for (const t of pitr.tablespaces)
			await extractTar(
				file(t.archive),
				join(data, 'pg_tblspc', String(t.oid)),
				undefined,
				request.signal,
				raw(t.archive),
			);
		let manifestFile = file(pitr.backupManifest);
		if (isSealedSet(set)) {
			manifestFile = join(scratch, 'backup_manifest');
			await pipeline(raw(pitr.backupManifest), createWriteStream(manifestFile, { mode: 0o600, flags: 'wx' }));
		}
		const args = ['--manifest-path', manifestFile, ...(parseWal ? [] : ['--no-parse-wal']), data];
		log.debug(`Running ${tool.path} ${args.join(' ')}`);
		const result = await runTool(tool.path, args, { signal: request.signal, timeoutMs: VERIFY_TIMEOUT_MS });
		const output = result.timedOut
			? `pg_verifybackup did not finish within ${VERIFY_TIMEOUT_MS / 3_600_000} h (${result.output.text()})`
			: result.output.text();
		checks.push({
			name: 'pg_verifybackup',
			passed: result.code === 0,
			detail:
				result.code === 0
					? `${tool.path} ${tool.version}: ${output || 'backup successfully verified'}${parseWal ? '' : ` (WAL not parsed: pg_verifybackup ${tool.version} cannot read PostgreSQL ${major} WAL)`}`
					: output,
		});
		return { ok: checks.every((c) => c.passed), checks, output, durationMs: Date.now() - started };
	} finally {
		await rm(scratch, { recursive: true, force: true });
	}
}

/** Verifies a whole chain: the base with pg_verifybackup, then continuity and every artifact's hash. */
export async function verifyChain(
	sets: PitrSetRecord[],
	request: Omit<BaseVerifyRequest, 'set' | 'hashesChecked'>,
): Promise<{ ok: boolean; base: BaseVerifyReport | null; chain: ChainReport }> {
	const chain = await checkChain(sets, { hashes: true });
	const base =
		sets[0]?.pitr.kind === 'base' ? await verifyBaseBackup({ ...request, set: sets[0], hashesChecked: true }) : null;
	return { ok: chain.ok && Boolean(base?.ok), base, chain };
}
