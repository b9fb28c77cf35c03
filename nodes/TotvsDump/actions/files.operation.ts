import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';
import { makeBackup } from '../../../core/backup';
import { manifestOf } from '../../../core/backup-set/manifest';
import { countOf, formatBytes, formatDuration } from '../../../core/format';
import type { ArchiveCompression } from '../../../core/sources/protheus-files';
import { defaultFilesOptions, ProtheusFilesSource, type FilesDumpOptions } from '../../../core/sources/protheus-files';
import { PROTHEUS_DEFAULT_EXCLUDE, PROTHEUS_DEFAULT_INCLUDE } from '../../../core/sources/protheus-files';
import { backupItem, failedDumpFields, type BackupItemJson } from '../../shared/backup-item';
import { splitList, summaryLanguage } from '../../shared/run-items';
import { languageOption, type Language } from '../../shared/summary';
import type { DumpRun } from './run';

/** The file parameters show for "Protheus Files" and for "Database + Files" (a restore point). */
const show = { show: { source: ['protheusFiles', 'postgresAndFiles'] } };

/** Options of a file set, shared by "Protheus Files" and "Database + Files". */
const filesOptionList: INodeProperties[] = [
	{
		displayName: 'Appserver.ini Environments',
		name: 'iniEnvironments',
		type: 'string',
		default: '',
		placeholder: 'P12, P12_HOMOLOG',
		description: 'Comma-separated environment sections of the appserver.ini to back up; empty backs up all of them',
	},
	{
		displayName: 'Compare Content (Paranoid)',
		name: 'paranoid',
		type: 'boolean',
		default: true,
		description:
			'Whether to hash every file to find changes, instead of trusting size and modification time. Reads the whole tree on every run; catches tools that restore mtimes.',
	},
	{
		displayName: 'Compression',
		name: 'compression',
		type: 'options',
		options: [
			{
				name: 'Zstandard',
				value: 'zstd',
				description:
					'Fast and small; uses the zstd command, or gzip when it is not installed (the manifest says which)',
			},
			{ name: 'Gzip', value: 'gzip', description: 'Works everywhere, slower' },
			{ name: 'None', value: 'none' },
		],
		default: 'zstd',
	},
	{
		displayName: 'Compression Level',
		name: 'compressionLevel',
		type: 'number',
		default: -1,
		description: 'Level for the chosen compression: zstd 1-22, gzip 1-9. -1 uses the default (zstd 3, gzip 6).',
	},
	{
		displayName: 'Exclude Patterns',
		name: 'exclude',
		type: 'string',
		default: '',
		placeholder: '*.bak, system/sc*.dtc',
		description:
			'Comma-separated patterns of files or folders to leave out (* ? ** [abc]; case-insensitive; a pattern without / matches at any depth)',
	},
	{
		displayName: 'Include Patterns',
		name: 'include',
		type: 'string',
		default: '',
		placeholder: '*.rpo, protheus_data/system',
		description:
			'Comma-separated patterns of files or folders to back up. With Protheus defaults off and this empty, everything in the folders is backed up.',
	},
	{
		displayName: 'Promote to Full When No Base',
		name: 'promoteToFull',
		type: 'boolean',
		default: true,
		description:
			'Whether to make a full backup, and say so in the item, when a differential or incremental has no earlier set to build on. Off: the node fails instead.',
	},
	{
		displayName: 'Use Protheus Defaults',
		name: 'protheusDefaults',
		type: 'boolean',
		default: true,
		description: `Whether to add the patterns that fit a Protheus install: include ${PROTHEUS_DEFAULT_INCLUDE.join(', ')}; exclude ${PROTHEUS_DEFAULT_EXCLUDE.join(', ')}`,
	},
];

/** TOTVS Dump's parameters for the Protheus file tree (also those of "Database + Files"). */
export const description: INodeProperties[] = [
	{
		displayName: 'Backup Type',
		name: 'filesBackupType',
		type: 'options',
		displayOptions: show,
		options: [
			{ name: 'Full', value: 'full', description: 'Every selected file' },
			{
				name: 'Differential',
				value: 'differential',
				description: 'Files added, changed or deleted since the last full backup of these folders',
			},
			{
				name: 'Incremental',
				value: 'incremental',
				description: 'Files added, changed or deleted since the last backup of any type of these folders',
			},
		],
		default: 'full',
		description:
			'Differential and incremental sets build on the earlier sets of the same folders in the same staging folder and environment. With Database + Files this is the type of the files set; the database set is always a full dump.',
	},
	{
		displayName: 'Folders',
		name: 'folders',
		type: 'string',
		typeOptions: { rows: 3 },
		displayOptions: show,
		default: '',
		placeholder: '/totvs/protheus_data\n/totvs/protheus/apo',
		description:
			'Absolute paths of the folders (or single files) to back up, one per line or comma-separated. Can stay empty when an appserver.ini is given.',
	},
	{
		displayName: 'Appserver.ini Path',
		name: 'appserverIni',
		type: 'string',
		displayOptions: show,
		default: '',
		placeholder: '/totvs/protheus/bin/appserver/appserver.ini',
		description:
			'Optional. Backs up this file and, for each environment in it, its RootPath (Protheus_Data), SourcePath (RPO folder), RpoCustom and RPOTLPP.',
	},
	{
		displayName: 'Options',
		name: 'options',
		type: 'collection',
		displayOptions: { show: { source: ['protheusFiles'] } },
		placeholder: 'Add Option',
		default: {},
		options: [...filesOptionList, languageOption],
	},
	// With "Database + Files" the database's Options (language included) keep the name "options",
	// so the same file options live in a collection of their own.
	{
		displayName: 'Files Options',
		name: 'filesOptions',
		type: 'collection',
		displayOptions: { show: { source: ['postgresAndFiles'] } },
		placeholder: 'Add Option',
		default: {},
		options: filesOptionList,
	},
];

/** `collection`: 'options' for "Protheus Files", 'filesOptions' for "Database + Files". */
export function readFilesOptions(ctx: IExecuteFunctions, i: number, collection = 'options'): FilesDumpOptions {
	const o = ctx.getNodeParameter(collection, i, {}) as IDataObject;
	const level = Number(o.compressionLevel ?? -1);
	return {
		...defaultFilesOptions,
		folders: splitList(ctx.getNodeParameter('folders', i, '')),
		appserverIni: String(ctx.getNodeParameter('appserverIni', i, '') ?? ''),
		iniEnvironments: splitList(o.iniEnvironments),
		include: splitList(o.include),
		exclude: splitList(o.exclude),
		protheusDefaults: o.protheusDefaults !== false,
		paranoid: o.paranoid === true,
		promoteToFull: o.promoteToFull === true,
		compression: (o.compression as ArchiveCompression) ?? defaultFilesOptions.compression,
		compressionLevel: level < 0 ? null : level,
	};
}

/** The file-set fields of the item: what changed, what was torn or skipped, and whether a full was made instead. */
export function filesFields(
	json: BackupItemJson,
	result: Parameters<typeof backupItem>[0],
	language: Language,
): IDataObject {
	const m = manifestOf(result.manifest, 'protheus-files');
	const { totals, changes, inconsistent, skipped, promotedToFull } = m.inventory;
	const n = (x: number) => x.toLocaleString(language === 'pt-BR' ? 'pt-BR' : 'en-US');
	const pt = language === 'pt-BR';
	let summary = pt
		? `Backup ${m.type === 'full' ? 'completo' : m.type === 'differential' ? 'diferencial' : 'incremental'} ${m.backupId} dos arquivos concluído: ${countOf(totals.files, 'arquivo', 'arquivos', n(totals.files))} (${formatBytes(totals.bytes)}), ${n(totals.archivedFiles)} gravados`
		: `Backup ${m.backupId} (${m.type}) of the files done: ${countOf(totals.files, 'file', 'files', n(totals.files))} (${formatBytes(totals.bytes)}), ${n(totals.archivedFiles)} archived`;
	if (m.type !== 'full')
		summary += pt
			? ` (${n(changes.added.length)} novos, ${n(changes.changed.length)} alterados, ${n(changes.deleted.length)} excluídos desde ${m.parentBackupId})`
			: ` (${n(changes.added.length)} added, ${n(changes.changed.length)} changed, ${n(changes.deleted.length)} deleted since ${m.parentBackupId})`;
	summary += pt
		? `, ${formatBytes(json.totalBytes)} em ${formatDuration(json.durationMs, language)}.`
		: `, ${formatBytes(json.totalBytes)} in ${formatDuration(json.durationMs, language)}.`;
	if (promotedToFull)
		summary += pt
			? ` Feito completo em vez de ${promotedToFull.requested}: não havia base.`
			: ` Made a full instead of the ${promotedToFull.requested} asked for: no base to build on.`;
	if (inconsistent.length)
		summary += pt
			? ` ATENÇÃO: ${n(inconsistent.length)} arquivo(s) alterado(s) durante a leitura (cópia a quente): ${inconsistent
					.slice(0, 3)
					.map((i) => i.path)
					.join(', ')}.`
			: ` WARNING: ${n(inconsistent.length)} file(s) changed while being read (hot copy): ${inconsistent
					.slice(0, 3)
					.map((i) => i.path)
					.join(', ')}.`;
	if (skipped.length)
		summary += pt
			? ` ${n(skipped.length)} ignorado(s) (arquivos especiais ou ilegíveis).`
			: ` ${n(skipped.length)} skipped (special or unreadable files).`;
	const LIST = 100;
	return {
		fileCount: totals.files,
		fileBytes: totals.bytes,
		folderCount: totals.dirs,
		symlinkCount: totals.symlinks,
		archivedFiles: totals.archivedFiles,
		roots: m.source.roots.map((r) => r.path),
		changes: {
			added: changes.added.length,
			changed: changes.changed.length,
			deleted: changes.deleted.length,
			addedPaths: changes.added.slice(0, LIST),
			changedPaths: changes.changed.slice(0, LIST),
			deletedPaths: changes.deleted.slice(0, LIST),
		},
		inconsistentFiles: inconsistent.slice(0, LIST),
		skippedFiles: skipped.slice(0, LIST),
		promotedToFull: promotedToFull !== null,
		...(promotedToFull ? { promotionReason: promotedToFull.reason } : {}),
		compression: m.compression.method,
		summary,
	};
}

export const filesBackupTypeOf = (ctx: IExecuteFunctions, i: number) =>
	ctx.getNodeParameter('filesBackupType', i, 'full') as 'full' | 'differential' | 'incremental';

/** One file set per input item: full, or the changes since the set it builds on. */
export async function execute(
	this: IExecuteFunctions,
	i: number,
	_item: INodeExecutionData,
	run: DumpRun,
): Promise<IDataObject> {
	const result = await makeBackup(new ProtheusFilesSource(), {
		connection: null,
		options: readFilesOptions(this, i),
		environment: run.environment(i),
		type: filesBackupTypeOf(this, i),
		stagingFolder: run.stagingFolder(i),
		log: this.logger,
		signal: this.getExecutionCancelSignal?.(),
	});
	const json = backupItem(result, '');
	const item = { ...json, ...filesFields(json, result, summaryLanguage(this)(i)) };
	this.logger.info(String(item.summary));
	return item;
}

/** The file set that was asked for, not made: the fields filesFields gives, unknown. */
export function failedFilesFields(ctx: IExecuteFunctions, i: number, startedAt: Date, run: DumpRun): IDataObject {
	return {
		...failedDumpFields(
			{
				environment: run.environment(i),
				component: 'files',
				engine: 'protheus-files',
				type: filesBackupTypeOf(ctx, i),
			},
			startedAt,
		),
		fileCount: null,
		fileBytes: null,
		folderCount: null,
		symlinkCount: null,
		archivedFiles: null,
		roots: splitList(ctx.getNodeParameter('folders', i, '')),
		changes: {
			added: null,
			changed: null,
			deleted: null,
			addedPaths: [],
			changedPaths: [],
			deletedPaths: [],
		},
		inconsistentFiles: [],
		skippedFiles: [],
		promotedToFull: false,
		compression: null,
	};
}

export function failed(
	this: IExecuteFunctions,
	i: number,
	_item: INodeExecutionData,
	run: DumpRun,
	startedAt: Date,
): IDataObject {
	return failedFilesFields(this, i, startedAt, run);
}
