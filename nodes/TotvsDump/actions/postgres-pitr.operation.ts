import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';
import { BackupError } from '../../../core/errors';
import { formatBytes } from '../../../core/format';
import {
	chainToContinue,
	defaultPitrOptions,
	dropSlot,
	makePitrBase,
	makePitrIncremental,
	slotNameFor,
	type PitrBackupOptions,
	type PitrRunResult,
	type SlotReport,
} from '../../../core/sources/postgres-pitr';
import { backupItem } from '../../shared/backup-item';
import { summaryLanguage } from '../../shared/run-items';
import { languageOption, type Language } from '../../shared/summary';
import { failedDatabaseDump, type DumpRun } from './run';

/**
 * TOTVS Dump's "PostgreSQL (Point in Time)" source: a base backup (full) with pg_basebackup, the
 * WAL written since the chain's newest set (incremental, a scheduled run every few minutes) with
 * pg_receivewal, and the replication slot those need reported every run; an action drops the
 * slot when point-in-time backups of the environment are given up. See docs/pitr.md.
 */
const show = { show: { source: ['postgresPitr'] } };

/** Dropping the slot ends the chain (the WAL it kept is gone): never offered to AI agents. */
export const TOOL_REFUSED_ACTIONS = ['dropSlot'];

export const description: INodeProperties[] = [
	{
		displayName: 'Point-in-Time Action',
		name: 'pitrAction',
		type: 'options',
		displayOptions: { show: { ...show.show, '@tool': [false] } },
		options: [
			{
				name: 'Base Backup (Full)',
				value: 'full',
				description: 'Pg_basebackup of the whole cluster: starts a new chain (nightly or weekly)',
			},
			{
				name: 'Collect WAL (Incremental)',
				value: 'incremental',
				description: 'The WAL written since the chain’s newest set, up to now (every few minutes)',
			},
			{
				name: 'Drop Replication Slot',
				value: 'dropSlot',
				description: 'Stop keeping WAL on the database server for this environment (the chain cannot continue)',
			},
		],
		default: 'incremental',
	},
	{
		displayName: 'Point-in-Time Action',
		name: 'pitrAction',
		type: 'options',
		displayOptions: { show: { ...show.show, '@tool': [true] } },
		// The same list without Drop Replication Slot (n8n's lint reads only literal options).
		options: [
			{
				name: 'Base Backup (Full)',
				value: 'full',
				description: 'Pg_basebackup of the whole cluster: starts a new chain (nightly or weekly)',
			},
			{
				name: 'Collect WAL (Incremental)',
				value: 'incremental',
				description: 'The WAL written since the chain’s newest set, up to now (every few minutes)',
			},
		],
		default: 'incremental',
	},
	{
		displayName: 'Point-in-Time Options',
		name: 'pitrOptions',
		type: 'collection',
		displayOptions: show,
		placeholder: 'Add Option',
		default: {},
		options: [
			{
				displayName: 'Collection Timeout (Minutes)',
				name: 'collectTimeoutMinutes',
				type: 'number',
				default: 60,
				typeOptions: { minValue: 1 },
				description: 'How long an incremental waits for the server to send the WAL up to the run’s start position',
			},
			{
				displayName: 'Compression',
				name: 'compression',
				type: 'options',
				options: [
					{ name: 'Gzip', value: 'gzip' },
					{ name: 'LZ4', value: 'lz4', description: 'Needs lz4 on the n8n host for restores' },
					{ name: 'None', value: 'none' },
					{ name: 'Zstandard', value: 'zstd', description: 'Needs zstd on the n8n host for restores' },
				],
				default: 'gzip',
				description: 'Compression of the base backup’s tar files (WAL is always gzip)',
			},
			{
				displayName: 'Exact Row Counts Up To (MB)',
				name: 'exactCountLimitMb',
				type: 'number',
				default: 256,
				description:
					'Base backups: tables larger than this get the planner’s row estimate in the inventory. 0 counts every table exactly.',
			},
			{
				displayName: 'Slot Warning Above (GB)',
				name: 'slotWarnGb',
				type: 'number',
				default: 1,
				typeOptions: { minValue: 0 },
				description:
					'Warn when the replication slot keeps more WAL than this on the database server (its disk fills if the incremental runs stop)',
			},
			languageOption,
		],
	},
];

type Action = 'full' | 'incremental' | 'dropSlot';

function readOptions(ctx: IExecuteFunctions, i: number, binFolder: string | undefined): PitrBackupOptions {
	const o = ctx.getNodeParameter('pitrOptions', i, {}) as IDataObject;
	return {
		...defaultPitrOptions,
		compression: (o.compression as PitrBackupOptions['compression']) ?? defaultPitrOptions.compression,
		slotWarnBytes: Math.round(Number(o.slotWarnGb ?? 1) * 1024 ** 3),
		exactCountMaxBytes: Number(o.exactCountLimitMb ?? 256) * 1024 * 1024,
		collectTimeoutMs: Number(o.collectTimeoutMinutes ?? 60) * 60_000,
		binFolder,
	};
}

const language = (ctx: IExecuteFunctions, i: number): Language =>
	((ctx.getNodeParameter('pitrOptions', i, {}) as IDataObject).language as Language) ?? summaryLanguage(ctx)(i);

function slotFields(slot: SlotReport): IDataObject {
	return {
		slotName: slot.slotName,
		exists: slot.exists,
		retainedBytes: slot.retainedBytes,
		walStatus: slot.walStatus,
		safeWalSizeBytes: slot.safeWalSizeBytes,
		warning: slot.warning,
	};
}

function setItem(result: PitrRunResult, lang: Language): IDataObject {
	const m = result.manifest;
	const json = backupItem({ manifest: m as never, folder: result.folder, manifestPath: result.manifestPath }, '');
	const pitr = m.pitr;
	const range = pitr.kind === 'base' ? `${pitr.startLsn}–${pitr.stopLsn}` : `${pitr.startLsn}–${pitr.endLsn}`;
	const slot = `slot ${result.slot.slotName} ${lang === 'pt-BR' ? 'retém' : 'keeps'} ${formatBytes(result.slot.retainedBytes)}`;
	const what =
		pitr.kind === 'base'
			? lang === 'pt-BR'
				? `Base do PostgreSQL ${m.backupId} (${formatBytes(json.totalBytes)}, WAL ${range}, timeline ${pitr.timeline})`
				: `PostgreSQL base backup ${m.backupId} (${formatBytes(json.totalBytes)}, WAL ${range}, timeline ${pitr.timeline})`
			: lang === 'pt-BR'
				? `WAL ${range} coletado em ${m.backupId} (${pitr.segments.length} segmentos, ${formatBytes(json.totalBytes)})`
				: `WAL ${range} collected into ${m.backupId} (${pitr.segments.length} segments, ${formatBytes(json.totalBytes)})`;
	return {
		...json,
		database: m.source.database,
		serverVersion: m.source.serverVersion,
		pitr: {
			kind: pitr.kind,
			timeline: pitr.timeline,
			startLsn: pitr.startLsn,
			endLsn: pitr.kind === 'base' ? pitr.stopLsn : pitr.endLsn,
			restorableUntil: pitr.kind === 'base' ? pitr.stoppedAt : pitr.endTime,
			segments: pitr.kind === 'wal' ? pitr.segments.length : null,
		},
		slot: slotFields(result.slot),
		warnings: result.warnings,
		summary: `${what}; ${slot}${result.slot.warning ? `. ${result.slot.warning}` : ''}`,
	};
}

export async function execute(
	this: IExecuteFunctions,
	i: number,
	_item: INodeExecutionData,
	run: DumpRun,
): Promise<IDataObject> {
	const action = this.getNodeParameter('pitrAction', i) as Action;
	// The tool variant's list lacks it; an agent could still pass the value, so refuse it here too.
	if (TOOL_REFUSED_ACTIONS.includes(action) && this.getNode().type.endsWith('Tool'))
		throw new BackupError(
			'INVALID_INPUT',
			'Drop Replication Slot is not available to AI agents: it ends the point-in-time chain',
			'Run it from a workflow (TOTVS Dump, source PostgreSQL (Point in Time)), not from an agent’s tool.',
		);
	const connection = await run.postgres();
	const environment = run.environment(i);
	const stagingFolder = run.stagingFolder(i);
	const lang = language(this, i);
	if (action === 'dropSlot') {
		const slotName = slotNameFor(environment);
		const { dropped } = await dropSlot(connection, slotName);
		const summary = dropped
			? lang === 'pt-BR'
				? `Slot de replicação ${slotName} removido: o servidor não guarda mais WAL para ${environment}; o próximo backup precisa ser uma base`
				: `Replication slot ${slotName} dropped: the server keeps no more WAL for ${environment}; the next backup must be a base`
			: lang === 'pt-BR'
				? `Não havia slot de replicação ${slotName}`
				: `There was no replication slot ${slotName}`;
		this.logger.info(summary);
		return { environment, slot: { slotName, dropped }, status: 'ok', summary };
	}
	const input = {
		connection,
		environment,
		stagingFolder,
		options: readOptions(this, i, connection.binFolder),
		log: this.logger,
		signal: this.getExecutionCancelSignal?.(),
	};
	let result: PitrRunResult;
	if (action === 'full') result = await makePitrBase(input);
	else {
		const { chain, report } = await chainToContinue(stagingFolder, environment);
		if (!chain)
			throw new BackupError(
				'BACKUP_CHAIN_BROKEN',
				`No point-in-time base backup of ${environment} in the staging folder: an incremental continues a chain`,
				'Run the Base Backup (Full) first; the incremental runs then continue its chain.',
			);
		if (report && !report.ok)
			throw new BackupError(
				'BACKUP_CHAIN_BROKEN',
				`The point-in-time chain of ${chain[0].backupId} is broken: ${report.problems[0]}`,
				'Run the Base Backup (Full) now: it starts a new chain that the incrementals continue. Sets made so far stay restorable up to the break.',
			);
		result = await makePitrIncremental({ ...input, chain });
	}
	for (const warning of result.warnings) this.logger.warn(warning);
	const json = setItem(result, lang);
	this.logger.info(String(json.summary));
	return json;
}

export async function failed(
	this: IExecuteFunctions,
	i: number,
	_item: INodeExecutionData,
	run: DumpRun,
	startedAt: Date,
): Promise<IDataObject> {
	const action = this.getNodeParameter('pitrAction', i, 'incremental') as Action;
	return failedDatabaseDump(
		run.postgres(),
		{
			environment: run.environment(i),
			engine: 'postgres-pitr',
			type: action === 'full' ? 'full' : 'incremental',
		},
		startedAt,
	);
}
