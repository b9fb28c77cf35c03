/**
 * What a point-in-time-recovery set records, besides its artifacts. Kept here until the
 * manifest schema (core/backup-set) learns the `postgres-pitr` engine; the checks below are
 * written with the manifest's own schema helpers so that registering them is the whole change.
 *
 * A chain is one base set (type full) followed by WAL sets (type incremental), all of one
 * cluster (system identifier) and one timeline, each WAL set starting at or before the end of
 * the previous set.
 */
import type { ArtifactRecord, PostgresInventory } from '../../backup-set/manifest';
import { arrayOf, boolean, integer, nullable, object, oneOf, string } from '../../backup-set/schema';

export const PITR_ENGINE = 'postgres-pitr';

/** Artifact kinds of PITR sets (ArtifactRecord.kind). */
export const ARTIFACT_KIND = {
	baseTar: 'pg_basebackup-base',
	walTar: 'pg_basebackup-wal',
	tablespaceTar: 'pg_basebackup-tablespace',
	backupManifest: 'pg_basebackup-manifest',
	segment: 'wal-segment',
	partialSegment: 'wal-partial',
	history: 'wal-history',
} as const;

export interface PitrSourceFacts {
	host: string;
	port: number;
	/** The ERP database the inventory describes (the backup holds the whole cluster). */
	database: string;
	user: string;
	serverVersion: string;
	serverVersionNum: number;
	/** pg_control's system identifier: WAL of another cluster never joins this chain. */
	systemIdentifier: string;
	walSegmentBytes: number;
	encoding: string;
	collation: string;
	ctype: string;
	extensions: Array<{ name: string; version: string }>;
	databaseBytes: number;
	/** The cluster's bootstrap superuser (oid 10): a restore test connects to the recovered cluster as it. */
	bootstrapSuperuser: string;
	slotName: string;
	/** "pg_basebackup 15.14" or "pg_receivewal 15.14". */
	clientVersion: string;
}

export interface PitrTablespace {
	oid: number;
	name: string;
	/** Location on the source server. */
	location: string;
	/** The set's tar of this tablespace. */
	archive: string;
}

export type BaseCompression = 'gzip' | 'zstd' | 'lz4' | 'none';

export interface PitrBaseSection {
	kind: 'base';
	timeline: number;
	/** WAL range of the backup (backup_manifest's WAL-Ranges): recovery is consistent from stopLsn on. */
	startLsn: string;
	stopLsn: string;
	/** Server clock (UTC ISO) before the backup started and after it ended: the earliest time it restores to is stoppedAt. */
	startedAt: string;
	stoppedAt: string;
	label: string;
	/** Paths inside the set. */
	backupManifest: string;
	baseArchive: string;
	walArchive: string;
	tablespaces: PitrTablespace[];
	compression: { method: BaseCompression; level: number | null; where: 'client' | 'server' };
	/** Sum of the files' sizes in backup_manifest: the space a restore needs for the data folder. */
	dataBytes: number;
}

export interface PitrSegment {
	/** Segment name, 24 hex digits. */
	name: string;
	/** Path of the file inside the set (wal/<file>). */
	path: string;
	/** True for the segment pg_receivewal was writing when it stopped (WAL up to endLsn only). */
	partial: boolean;
	compression: 'gzip' | 'none';
}

export interface PitrWalSection {
	kind: 'wal';
	timeline: number;
	/** First byte in the set (a segment boundary: pg_receivewal starts at the start of a segment). */
	startLsn: string;
	/** Every WAL byte before this position is in the set (the server's position at the start of the run). */
	endLsn: string;
	/** Server clock when endLsn was read (approximately the newest commit the set can restore). */
	endTime: string;
	/** End of the previous set of the chain when this one was collected. */
	previousEndLsn: string;
	previousBackupId: string;
	segments: PitrSegment[];
	/** Timeline history files received (normally none: a timeline switch breaks the chain). */
	historyFiles: string[];
}

export type PitrSection = PitrBaseSection | PitrWalSection;

/** One set of a chain as the functions of this engine read it. */
export interface PitrSetRecord {
	backupId: string;
	/** The set folder (holding the artifacts). */
	folder: string;
	type: 'full' | 'incremental';
	source: PitrSourceFacts;
	pitr: PitrSection;
	artifacts: ArtifactRecord[];
	/** Base sets: the ERP database at backup time (estimates allowed). */
	inventory?: PostgresInventory;
}

/** The replication slot's state, reported every run. */
export interface SlotReport {
	slotName: string;
	exists: boolean;
	active: boolean;
	restartLsn: string | null;
	/** reserved / extended / unreserved / lost (pg_replication_slots.wal_status). */
	walStatus: string | null;
	/** WAL the slot keeps on the server: pg_current_wal_lsn() - restart_lsn. */
	retainedBytes: number;
	/** Bytes left before max_slot_wal_keep_size invalidates the slot; null when unlimited. */
	safeWalSizeBytes: number | null;
	warnAboveBytes: number;
	/** Set when retainedBytes is above warnAboveBytes, or the slot is at risk. */
	warning: string | null;
}

// ---------------------------------------------------------------------------------------------
// Schema checks for the manifest (to be registered for the postgres-pitr engine).

const lsn = string(/^[0-9A-F]{1,8}\/[0-9A-F]{1,8}$/, 'a WAL position like 16/B374D848');
const isoTime = string(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/, 'an ISO-8601 UTC time');
const relativePath = string(/^(?!\/)(?!.*(^|\/)\.\.(\/|$))[^\0]+$/, 'a relative path inside the set folder');

export const pitrSourceSchema = object({
	host: string(),
	port: integer(1),
	database: string(),
	user: string(),
	serverVersion: string(),
	serverVersionNum: integer(),
	systemIdentifier: string(/^\d+$/, 'a decimal system identifier'),
	walSegmentBytes: integer(1),
	encoding: string(),
	collation: string(),
	ctype: string(),
	extensions: arrayOf(object({ name: string(), version: string() })),
	databaseBytes: integer(),
	bootstrapSuperuser: string(),
	slotName: string(/^[a-z0-9_]{1,63}$/, 'a replication slot name'),
	clientVersion: string(),
});

const baseSchema = object({
	kind: oneOf('base'),
	timeline: integer(1),
	startLsn: lsn,
	stopLsn: lsn,
	startedAt: isoTime,
	stoppedAt: isoTime,
	label: string(),
	backupManifest: relativePath,
	baseArchive: relativePath,
	walArchive: relativePath,
	tablespaces: arrayOf(object({ oid: integer(1), name: string(), location: string(), archive: relativePath })),
	compression: object({
		method: oneOf('gzip', 'zstd', 'lz4', 'none'),
		level: nullable(integer()),
		where: oneOf('client', 'server'),
	}),
	dataBytes: integer(),
});

const walSchema = object({
	kind: oneOf('wal'),
	timeline: integer(1),
	startLsn: lsn,
	endLsn: lsn,
	endTime: isoTime,
	previousEndLsn: lsn,
	previousBackupId: string(),
	segments: arrayOf(
		object({
			name: string(/^[0-9A-F]{24}$/, 'a WAL segment name'),
			path: relativePath,
			partial: boolean,
			compression: oneOf('gzip', 'none'),
		}),
	),
	historyFiles: arrayOf(string()),
});

export const pitrSectionSchema = (value: unknown, path: string) => {
	const kind = (value as { kind?: unknown } | null)?.kind;
	if (kind === 'base') return baseSchema(value, path);
	if (kind === 'wal') return walSchema(value, path);
	return `${path}.kind: expected "base" or "wal", found ${JSON.stringify(kind)}`;
};
