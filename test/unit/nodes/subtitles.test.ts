/**
 * Node subtitles under the node on the canvas, evaluated by n8n-workflow's expression engine as
 * the editor evaluates them (Expression.getSimpleParameterValue): human labels, never raw option
 * values such as "upload: googleDrive" (issue 16).
 */
import type { INodeParameters, INodeType } from 'n8n-workflow';
import { TotvsDump } from '../../../nodes/TotvsDump/TotvsDump.node';
import { TotvsMonitor } from '../../../nodes/TotvsMonitor/TotvsMonitor.node';
import { TotvsUpload } from '../../../nodes/TotvsUpload/TotvsUpload.node';
import { subtitleOf } from './editor-display';

const subtitle = (node: INodeType, set: INodeParameters) => subtitleOf(node.description, set);

describe('subtitles', () => {
	it.each([
		[{ operation: 'upload', destination: 'googleDrive' }, 'Upload to Google Drive'],
		[{ operation: 'upload', destination: 'googleDriveSignIn' }, 'Upload to Google Drive'],
		[{ operation: 'prune', destination: 'sftp' }, 'Prune on SFTP'],
		[{ operation: 'list', destination: 'ftp' }, 'List on FTP'],
		[{ operation: 'download', destination: 'local' }, 'Download from Local Folder'],
	])('TOTVS Upload %j -> %s', (set, expected) => {
		expect(subtitle(new TotvsUpload(), set)).toBe(expected);
	});

	it.each([
		[{ source: 'postgres', environment: 'prod' }, 'PostgreSQL → prod'],
		[{ source: 'sqlserver', sqlServerBackupType: 'log', environment: 'prod' }, 'SQL Server Log → prod'],
		[{ source: 'protheusFiles', filesBackupType: 'incremental', environment: 'prod' }, 'Files Incremental → prod'],
		[
			{ source: 'postgresAndFiles', filesBackupType: 'differential', environment: 'homolog' },
			'PostgreSQL + Files Differential → homolog',
		],
		[{ source: 'postgresPitr', pitrAction: 'full', environment: 'prod' }, 'Point in Time Base Backup → prod'],
		[{ source: 'postgresPitr', pitrAction: 'incremental', environment: 'prod' }, 'Point in Time Collect WAL → prod'],
		[{ source: 'postgresPitr', pitrAction: 'dropSlot', environment: 'prod' }, 'Point in Time Drop Slot → prod'],
	])('TOTVS Dump %j -> %s', (set, expected) => {
		expect(subtitle(new TotvsDump(), set)).toBe(expected);
	});

	it.each([
		[{ output: 'items' }, 'One Item per Environment'],
		[{ output: 'html' }, 'HTML Status Page'],
		[{ output: 'prometheus' }, 'Prometheus Metrics'],
	])('TOTVS Monitor %j -> %s', (set, expected) => {
		expect(subtitle(new TotvsMonitor(), set)).toBe(expected);
	});
});
