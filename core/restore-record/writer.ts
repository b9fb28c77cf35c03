import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkEnvironmentName } from '../backup-set/ids';
import { currentSetKeys } from '../backup-set/set-keys';
import type { Destination } from '../destinations';
import { BackupError } from '../errors';
import { signManifest } from '../sealing';
import { packageInfo } from '../package-info';
import {
	MAX_CHECK_TEXT,
	MAX_CHECKS,
	RESTORE_RECORD_FORMAT,
	RESTORE_RECORD_SIGNATURE_SUFFIX,
	restoreRecordFileName,
	restoreRecordPath,
	serializeRestoreRecord,
	type RestoreRecord,
	type RestoreRecordCheck,
	type RestoreServer,
} from './record';

/** What Restore Test knows at the end of a test; the writer adds the id, format and package version. */
export interface RestoreRecordInput {
	environment: string;
	/** The set tested (the newest of a chain), or the restore point id. */
	testedId: string;
	/** Every set restored, oldest first; default [testedId]. */
	backupIds?: string[];
	engine?: string | null;
	passed: boolean;
	startedAt: Date | string;
	finishedAt: Date | string;
	/** Download time when the set came from a destination. */
	fetchMs?: number | null;
	restoreMs: number;
	checksMs?: number | null;
	/** Default: fetch + restore + checks. */
	rtoMs?: number;
	restoredBytes: number;
	/** Extra fields (a CheckResult has `message`) are dropped; texts are cut to MAX_CHECK_TEXT. */
	checks: ReadonlyArray<RestoreRecordCheck>;
	/** Only engine, host, port and target are copied: a config object with a password may be passed safely. */
	restoreServer: RestoreServer;
	/** Destination.describe() of where the set was read from; null for a local set. */
	sourceDestination?: string | null;
}

export interface WriteRestoreRecordOptions {
	/**
	 * Hook for signed records (issue 12): given the record's exact bytes, returns a detached
	 * signature document, stored as `<record>.sig`. Not called when absent.
	 */
	sign?: (recordBytes: Buffer) => Promise<Buffer | string>;
	/** For tests: the record id (hex). */
	id?: string;
}

export interface WrittenRestoreRecord {
	record: RestoreRecord;
	/** Relative to the destination root. */
	remotePath: string;
	signaturePath?: string;
}

function iso(at: Date | string): string {
	const date = typeof at === 'string' ? new Date(at) : at;
	if (Number.isNaN(date.getTime()))
		throw new BackupError(
			'INVALID_INPUT',
			`Restore-test record: ${JSON.stringify(String(at))} is not a time`,
			'Pass startedAt and finishedAt as Date objects or ISO-8601 strings.',
		);
	return date.toISOString();
}
const ms = (value: number | null | undefined) =>
	value === null || value === undefined ? null : Math.max(0, Math.round(value));
const cut = (text: unknown) => {
	const value = String(text ?? '');
	return value.length > MAX_CHECK_TEXT ? `${value.slice(0, MAX_CHECK_TEXT - 1)}…` : value;
};

/** The record as it will be written (pure: no destination), for callers that want to show it too. */
export function buildRestoreRecord(input: RestoreRecordInput, id = randomBytes(8).toString('hex')): RestoreRecord {
	const environment = checkEnvironmentName(input.environment);
	const fetchMs = ms(input.fetchMs);
	const restoreMs = ms(input.restoreMs) ?? 0;
	const checksMs = ms(input.checksMs);
	const checks = input.checks.map((c): RestoreRecordCheck => ({
		name: cut(c.name),
		ok: c.ok === true,
		expected: cut(c.expected),
		actual: cut(c.actual),
		...(c.message !== undefined ? { message: cut(c.message) } : {}),
		...(c.notRun ? { notRun: true } : {}),
	}));
	// Keep every failure first: they are what a reader of a failed test needs.
	const kept =
		checks.length > MAX_CHECKS
			? [...checks.filter((c) => !c.ok), ...checks.filter((c) => c.ok)].slice(0, MAX_CHECKS)
			: checks;
	const pkg = packageInfo();
	const server = input.restoreServer;
	return {
		format: RESTORE_RECORD_FORMAT,
		kind: 'totvs-restore-test',
		id,
		environment,
		testedId: input.testedId,
		backupIds: input.backupIds?.length ? [...input.backupIds] : [input.testedId],
		engine: input.engine ?? null,
		passed: input.passed,
		startedAt: iso(input.startedAt),
		finishedAt: iso(input.finishedAt),
		durationMs: Math.max(0, Date.parse(iso(input.finishedAt)) - Date.parse(iso(input.startedAt))),
		rtoMs: ms(input.rtoMs) ?? (fetchMs ?? 0) + restoreMs + (checksMs ?? 0),
		fetchMs,
		restoreMs,
		checksMs,
		restoredBytes: Math.max(0, Math.round(input.restoredBytes)),
		checks: kept,
		restoreServer: {
			engine: String(server.engine),
			...(server.host ? { host: String(server.host) } : {}),
			...(Number.isInteger(server.port) ? { port: server.port } : {}),
			...(server.target ? { target: String(server.target) } : {}),
		},
		sourceDestination: input.sourceDestination ?? null,
		createdBy: { package: pkg.name, version: pkg.version, hostname: hostname() },
		...(kept.length < checks.length ? { checksTruncated: true } : {}),
	};
}

/**
 * Writes a restore-test record to `<environment>/` on the destination: atomically (Destination.put
 * of a private temporary file: a partial name, then a rename), never over another record (the
 * name holds a random id). Needs no lock: it creates a new file and touches nothing else.
 */
export async function writeRestoreRecord(
	destination: Destination,
	input: RestoreRecordInput,
	options: WriteRestoreRecordOptions = {},
): Promise<WrittenRestoreRecord> {
	const record = buildRestoreRecord(input, options.id);
	const text = serializeRestoreRecord(record);
	const remotePath = restoreRecordPath(record);
	const folder = await mkdtemp(join(tmpdir(), 'totvs-record-'));
	try {
		const file = join(folder, restoreRecordFileName(record));
		await writeFile(file, text, { mode: 0o600 });
		await destination.put(file, remotePath);
		const sign = options.sign ?? signerOfExecution(restoreRecordFileName(record));
		if (!sign) return { record, remotePath };
		// After the record: a signature never stands without the record it signs.
		const signature = await sign(Buffer.from(text, 'utf8'));
		const signatureFile = `${file}${RESTORE_RECORD_SIGNATURE_SUFFIX}`;
		await writeFile(signatureFile, signature, { mode: 0o600 });
		const signaturePath = `${remotePath}${RESTORE_RECORD_SIGNATURE_SUFFIX}`;
		await destination.put(signatureFile, signaturePath);
		return { record, remotePath, signaturePath };
	} finally {
		await rm(folder, { recursive: true, force: true });
	}
}

/**
 * Without an explicit `sign`, a record is signed with the execution's signing key when it has one
 * (the TOTVS Backup Keys credential, issue 12), in the same detached format as manifests.
 */
function signerOfExecution(signedFile: string): ((bytes: Buffer) => Promise<string>) | undefined {
	const key = currentSetKeys()?.signingKey;
	return key ? async (bytes) => signManifest(bytes, key, { signedFile }) : undefined;
}
