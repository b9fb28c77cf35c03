/**
 * What a point-in-time-recovery set records, besides its artifacts. The manifest's parts
 * (source facts, the pitr section, their schema) are in core/backup-set/pitr-manifest.ts, where
 * the manifest schema checks them; the chain record and the slot report are the engine's own.
 *
 * A chain is one base set (type full) followed by WAL sets (type incremental), all of one
 * cluster (system identifier) and one timeline, each WAL set starting at or before the end of
 * the previous set.
 */
import type { ArtifactRecord, PostgresInventory } from '../../backup-set/manifest';
import type { PitrSection, PitrSourceFacts } from '../../backup-set/pitr-manifest';

export type {
	PitrSourceFacts,
	PitrTablespace,
	BaseCompression,
	PitrBaseSection,
	PitrSegment,
	PitrWalSection,
	PitrSection,
	PitrWalInventory,
	PitrInventory,
} from '../../backup-set/pitr-manifest';
export { pitrSourceSchema, pitrSectionSchema, pitrInventorySchema } from '../../backup-set/pitr-manifest';

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
	/** Sealed sets (age): the fingerprints of the keys it was sealed for; its artifacts are `<path>.age`. */
	sealedFor?: string[];
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
