import { compactUtc } from '../backup-set/ids';
import type { Destination, RemoteEntry } from '../destinations';
import { BackupError } from '../errors';
import {
	MAX_RESTORE_RECORD_BYTES,
	RESTORE_RECORD_SIGNATURE_SUFFIX,
	parseRestoreRecord,
	parseRestoreRecordName,
	type RecordName,
	type RestoreRecord,
} from './record';

export interface ListedRestoreRecord extends RecordName {
	environment: string;
	fileName: string;
	/** Relative to the destination root. */
	remotePath: string;
	/** A detached `<record>.sig` is beside it (checking it is issue 12's). */
	signed: boolean;
	/** The content, when it was read (see `read`). */
	record?: RestoreRecord;
	/** Why the content cannot be trusted, when it was read and is not valid. */
	invalid?: string;
}

export interface ListRestoreRecordsOptions {
	/** How many of the newest records to read the content of (the rest are known by name only). Default all. */
	read?: number;
	/** The environment folder's listing, when the caller already has it: saves one request. */
	entries?: RemoteEntry[];
}

/**
 * The restore-test records of an environment on a destination, newest first. One listing of the
 * environment folder, plus one small read per record whose content is asked for (`read`): the
 * outcome and time of every test are in the names. Read-only; an unreadable or edited record is
 * returned with `invalid`, never thrown. Connection errors are thrown.
 */
export async function listRestoreRecords(
	destination: Destination,
	environment: string,
	options: ListRestoreRecordsOptions = {},
): Promise<ListedRestoreRecord[]> {
	const entries = options.entries ?? (await destination.list(environment));
	const files = new Set(entries.filter((e) => !e.isFolder).map((e) => e.name));
	const listed: ListedRestoreRecord[] = [];
	for (const name of files) {
		const parsed = parseRestoreRecordName(environment, name);
		if (!parsed) continue;
		listed.push({
			...parsed,
			environment,
			fileName: name,
			remotePath: `${environment}/${name}`,
			signed: files.has(`${name}${RESTORE_RECORD_SIGNATURE_SUFFIX}`),
		});
	}
	listed.sort((a, b) => b.finishedAt.localeCompare(a.finishedAt) || b.fileName.localeCompare(a.fileName));
	const toRead = Math.max(0, Math.min(options.read ?? listed.length, listed.length));
	for (const entry of listed.slice(0, toRead)) {
		try {
			entry.record = await readRestoreRecord(destination, entry);
		} catch (error) {
			if (!(error instanceof BackupError) || error.code !== 'INVALID_INPUT') throw error;
			entry.invalid = error.message;
		}
	}
	return listed;
}

/** Reads one listed record and checks it agrees with its name. */
export async function readRestoreRecord(destination: Destination, entry: ListedRestoreRecord): Promise<RestoreRecord> {
	const where = `${destination.describe()}/${entry.remotePath}`;
	// Too large comes back as INVALID_INPUT (the record's fault); connection errors propagate.
	const content = await destination.readSmallFile(entry.remotePath, MAX_RESTORE_RECORD_BYTES);
	if (!content)
		throw new BackupError(
			'INVALID_INPUT',
			`Restore-test record ${where} is invalid: it vanished while read`,
			'It is ignored.',
		);
	const record = parseRestoreRecord(content.toString('utf8'), where);
	const disagrees =
		record.environment !== entry.environment ||
		record.testedId !== entry.testedId ||
		record.id !== entry.id ||
		record.passed !== (entry.outcome === 'passed') ||
		compactUtc(new Date(record.finishedAt)) !== compactUtc(new Date(entry.finishedAt));
	if (disagrees)
		throw new BackupError(
			'INVALID_INPUT',
			`Restore-test record ${where} is invalid: its content (${record.testedId}, ${record.passed ? 'passed' : 'failed'} at ${record.finishedAt}) does not match its file name`,
			'The file was renamed or edited by hand. It is ignored.',
		);
	return record;
}
