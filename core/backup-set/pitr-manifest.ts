/**
 * What a point-in-time-recovery set (engine `postgres-pitr`) records in its manifest besides the
 * common fields: the source cluster and, in the manifest's `pitr` section, the set's place in its
 * chain. A chain is one base set (type full: pg_basebackup) followed by WAL sets (type
 * incremental: pg_receivewal), all of one cluster (system identifier) and one timeline, each WAL
 * set starting at or before the end of the previous one. The engine (core/sources/postgres-pitr)
 * writes and reads these; they live here so the manifest schema can check them.
 */
import { postgresInventorySchema, type PostgresInventory } from './postgres-manifest';
import { arrayOf, boolean, integer, nullable, object, oneOf, optional, string, type Check } from './schema';

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
	/**
	 * End of the WAL the base's pg_wal archive holds when pg_basebackup's WAL stream received past
	 * stopLsn (the slot then keeps WAL from there only): the next WAL set may start up to here.
	 * Absent when it equals stopLsn.
	 */
	walEndLsn?: string;
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

/**
 * A WAL set's inventory: what it holds (the database's tables and counts travel with the base).
 * A base set's inventory is the logical engine's PostgresInventory of the ERP database.
 */
export interface PitrWalInventory {
	engine: 'postgres-wal';
	segments: number;
	/** Sum of the segment files' sizes as stored (compressed). */
	walBytes: number;
}

export type PitrInventory = PostgresInventory | PitrWalInventory;

// ---------------------------------------------------------------------------------------------
// Schema checks (registered for the postgres-pitr engine in manifest.ts).

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
	walEndLsn: optional(lsn),
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

export const pitrSectionSchema: Check = (value, path) => {
	const kind = (value as { kind?: unknown } | null)?.kind;
	if (kind === 'base') return baseSchema(value, path);
	if (kind === 'wal') return walSchema(value, path);
	return `${path}.kind: expected "base" or "wal", found ${JSON.stringify(kind)}`;
};

const walInventorySchema = object({ engine: oneOf('postgres-wal'), segments: integer(), walBytes: integer() });

export const pitrInventorySchema: Check = (value, path) => {
	const engine = (value as { engine?: unknown } | null)?.engine;
	if (engine === 'postgres-wal') return walInventorySchema(value, path);
	return postgresInventorySchema(value, path);
};

/**
 * What ties a PITR manifest's parts together: a base is a full with a PostgreSQL inventory and
 * no parent; a WAL set is an incremental with a WAL inventory whose parent is the set it
 * continues; both on the chain's slot.
 */
export function pitrManifestProblem(manifest: {
	type: string;
	parentBackupId: string | null;
	baseBackupId: string | null;
	pitr?: unknown;
	inventory: unknown;
}): string | undefined {
	if (manifest.pitr === undefined) return 'pitr: a postgres-pitr set needs its pitr section';
	const problem = pitrSectionSchema(manifest.pitr, 'pitr');
	if (problem) return problem;
	const pitr = manifest.pitr as PitrSection;
	const inventoryEngine = (manifest.inventory as { engine?: unknown } | null)?.engine;
	if (pitr.kind === 'base') {
		if (manifest.type !== 'full') return `type: a base backup (pitr.kind "base") is a full, found "${manifest.type}"`;
		if (manifest.parentBackupId !== null || manifest.baseBackupId !== null)
			return 'parentBackupId: a base backup starts a chain and has no parent';
		if (manifest.inventory !== null && inventoryEngine !== 'postgres')
			return 'inventory.engine: a base backup carries the database inventory ("postgres")';
		return undefined;
	}
	if (manifest.type !== 'incremental')
		return `type: a WAL set (pitr.kind "wal") is an incremental, found "${manifest.type}"`;
	if (manifest.parentBackupId !== pitr.previousBackupId)
		return `parentBackupId: a WAL set's parent is the set it continues (${pitr.previousBackupId}), found ${JSON.stringify(manifest.parentBackupId)}`;
	if (manifest.baseBackupId === null) return "baseBackupId: a WAL set names its chain's base backup";
	if (manifest.inventory !== null && inventoryEngine !== 'postgres-wal')
		return 'inventory.engine: a WAL set carries a WAL inventory ("postgres-wal")';
	return undefined;
}
