/**
 * The restore-test record: what a Restore Test proved, left on the destination it tested, so the
 * destination itself is the one history of what was proven to restore (TOTVS Monitor reads it;
 * no n8n database or worker memory is involved).
 *
 * Layout: one small JSON file per test, in the ENVIRONMENT folder, next to the set folders:
 *
 *     <environment>/<testedId>.restore-test-<yyyymmddThhmmssZ>-<passed|failed>-<hex>.json
 *
 * - A file, not a folder: the set catalog (core/upload/remote-catalog.ts) looks only at the
 *   folders of an environment, so a record can never make a set look invalid, unfinished or
 *   "not ours", and List / Prune never see it.
 * - Beside the set, not inside it: one listing of the environment finds every record (a bounded
 *   request count for the Monitor), a test of a restore point or a chain (several sets) is one
 *   record, and the history of restore times survives when Prune removes the tested set.
 * - The name carries the test time and the outcome, so "when did a restore last pass" needs no
 *   read at all; the content is authoritative and a name that disagrees with it makes the record
 *   invalid. The random tail keeps two tests in the same second apart.
 * - Not hidden (no leading dot): some FTP servers do not list dot files.
 *
 * Signing (issue 12) is not done here: the writer takes an optional `sign` callback whose output
 * is stored as a detached `<record>.sig` beside it, like `manifest.json.sig`; the reader says
 * whether a record has one.
 */
import { ENVIRONMENT, compactUtc, isBackupIdOf, isRestorePointIdOf } from '../backup-set/ids';
import { arrayOf, boolean, integer, nullable, object, oneOf, optional, string, type Check } from '../backup-set/schema';
import { BackupError } from '../errors';

export const RESTORE_RECORD_FORMAT = 1;
/** Records are small (checks are capped); anything larger is not ours. */
export const MAX_RESTORE_RECORD_BYTES = 1 << 20;
/** Detached signature file suffix, as for manifests (core/sealing). */
export const RESTORE_RECORD_SIGNATURE_SUFFIX = '.sig';

/** Longest text kept per check field, and most checks kept, so a record stays small. */
export const MAX_CHECK_TEXT = 2000;
export const MAX_CHECKS = 500;

export interface RestoreRecordCheck {
	name: string;
	ok: boolean;
	expected: string;
	actual: string;
	message?: string;
	/** The check could not run there (not a failure, not a pass). */
	notRun?: boolean;
}

/** Where the test restored into: host and port only, never a user or a password. */
export interface RestoreServer {
	/** 'postgres', 'sqlserver', 'protheus-files' (a folder, no server). */
	engine: string;
	host?: string;
	port?: number;
	/** The scratch database or folder name. */
	target?: string;
}

export interface RestoreRecord {
	format: typeof RESTORE_RECORD_FORMAT;
	kind: 'totvs-restore-test';
	/** Random, also in the file name: tells two records of the same second apart. */
	id: string;
	environment: string;
	/** What was tested: a backupId, or a restore point id when the whole point was tested. */
	testedId: string;
	/** Every set restored, oldest first (the chain, or the sets of a restore point); [testedId] for one set. */
	backupIds: string[];
	engine: string | null;
	passed: boolean;
	startedAt: string;
	finishedAt: string;
	/** Wall time of the whole test, fetch and checks included. */
	durationMs: number;
	/** Recovery time: fetch + restore + checks, what a real recovery of this set would take. */
	rtoMs: number;
	fetchMs: number | null;
	restoreMs: number;
	checksMs: number | null;
	restoredBytes: number;
	checks: RestoreRecordCheck[];
	restoreServer: RestoreServer;
	/** Where the tested set was read from (Destination.describe(): no secrets), or null for a local set. */
	sourceDestination: string | null;
	createdBy: { package: string; version: string; hostname: string };
	/** More checks than MAX_CHECKS were made: only failed ones and the first passed ones are kept. */
	checksTruncated?: boolean;
}

export type RecordOutcome = 'passed' | 'failed';

const isoTime = string(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/, 'an ISO-8601 UTC time');
const RECORD_ID = /^[0-9a-f]{8,32}$/;

const recordSchema: Check = object({
	format: integer(1),
	kind: oneOf('totvs-restore-test'),
	id: string(RECORD_ID, '8 to 32 lowercase hex characters'),
	environment: string(ENVIRONMENT, 'an environment name'),
	testedId: string(),
	backupIds: arrayOf(string()),
	engine: nullable(string()),
	passed: boolean,
	startedAt: isoTime,
	finishedAt: isoTime,
	durationMs: integer(),
	rtoMs: integer(),
	fetchMs: nullable(integer()),
	restoreMs: integer(),
	checksMs: nullable(integer()),
	restoredBytes: integer(),
	checks: arrayOf(
		object({
			name: string(),
			ok: boolean,
			expected: string(),
			actual: string(),
			message: optional(string()),
			notRun: optional(boolean),
		}),
	),
	restoreServer: object({
		engine: string(),
		host: optional(string()),
		port: optional(integer()),
		target: optional(string()),
	}),
	sourceDestination: nullable(string()),
	createdBy: object({ package: string(), version: string(), hostname: string() }),
	checksTruncated: optional(boolean),
});

/** The ids a record may name are ids of its own environment, as we write them (they are joined into paths). */
function idProblem(record: RestoreRecord): string | undefined {
	const ours = (id: string) => isBackupIdOf(record.environment, id) || isRestorePointIdOf(record.environment, id);
	if (!ours(record.testedId)) return `testedId: not a backup or restore point id of ${record.environment}`;
	const bad = record.backupIds.find((id) => !isBackupIdOf(record.environment, id));
	if (bad !== undefined)
		return `backupIds: ${JSON.stringify(bad.slice(0, 80))} is not a backup id of ${record.environment}`;
	return undefined;
}

export class RestoreRecordError extends BackupError {
	constructor(where: string, reason: string) {
		super(
			'INVALID_INPUT',
			`Restore-test record ${where} is invalid: ${reason}`,
			'It was edited or damaged. It is ignored; the next Restore Test writes a new record.',
		);
		this.name = 'RestoreRecordError';
	}
}

/** Parses and checks a record's text; throws RestoreRecordError naming the field. */
export function parseRestoreRecord(text: string, where: string): RestoreRecord {
	let value: unknown;
	try {
		value = JSON.parse(text);
	} catch (error) {
		throw new RestoreRecordError(where, `not valid JSON (${(error as Error).message})`);
	}
	const format = (value as { format?: unknown } | null)?.format;
	if (typeof format === 'number' && format > RESTORE_RECORD_FORMAT)
		throw new RestoreRecordError(
			where,
			`it uses record format ${format}, newer than the ${RESTORE_RECORD_FORMAT} this version reads (update n8n-nodes-totvs-backup)`,
		);
	const problem = recordSchema(value, '') ?? idProblem(value as RestoreRecord);
	if (problem) throw new RestoreRecordError(where, `field ${problem}`);
	return value as RestoreRecord;
}

/** Refuses to write what could not be read back: a bug in the caller, said plainly. */
export function serializeRestoreRecord(record: RestoreRecord): string {
	const problem = recordSchema(record, '') ?? idProblem(record);
	if (problem)
		throw new BackupError(
			'INVALID_INPUT',
			`Refusing to write an invalid restore-test record: ${problem}`,
			'This is a bug in the caller of writeRestoreRecord: report it with the record fields.',
		);
	return JSON.stringify(record, null, 2) + '\n';
}

/* ------------------------------------------------------------------ names */

const NAME = /^(.+)\.restore-test-(\d{8}T\d{6}Z)-(passed|failed)-([0-9a-f]{8,32})\.json$/;

export interface RecordName {
	testedId: string;
	/** The test's finish time, to the second (from the name). */
	finishedAt: string;
	outcome: RecordOutcome;
	id: string;
}

export function restoreRecordFileName(record: Pick<RestoreRecord, 'testedId' | 'finishedAt' | 'passed' | 'id'>) {
	return `${record.testedId}.restore-test-${compactUtc(new Date(record.finishedAt))}-${record.passed ? 'passed' : 'failed'}-${record.id}.json`;
}

/** Relative to the destination root. */
export function restoreRecordPath(
	record: Pick<RestoreRecord, 'environment' | 'testedId' | 'finishedAt' | 'passed' | 'id'>,
) {
	return `${record.environment}/${restoreRecordFileName(record)}`;
}

/** The parts of a record file name of `environment`; undefined for any other file. */
export function parseRestoreRecordName(environment: string, fileName: string): RecordName | undefined {
	const match = NAME.exec(fileName);
	if (!match) return undefined;
	const [, testedId, compact, outcome, id] = match;
	if (!isBackupIdOf(environment, testedId) && !isRestorePointIdOf(environment, testedId)) return undefined;
	const finishedAt = `${compact.slice(0, 4)}-${compact.slice(4, 6)}-${compact.slice(6, 8)}T${compact.slice(9, 11)}:${compact.slice(11, 13)}:${compact.slice(13, 15)}Z`;
	if (Number.isNaN(Date.parse(finishedAt))) return undefined;
	return { testedId, finishedAt, outcome: outcome as RecordOutcome, id };
}
