/** Paths an appserver.ini names, mapped into a restored tree by their suffix under the backed-up roots. */
import { join } from 'node:path';
import type { FilesRoot } from '../../../core/backup-set/files-manifest';
import { mapIntoRestoredTree } from '../../../core/sources/protheus-files/restore-test';

const restored = '/scratch';

describe('mapIntoRestoredTree', () => {
	const linux: FilesRoot[] = [
		{ label: 'protheus_data', path: '/totvs/protheus_data', kind: 'folder' },
		{ label: 'apo', path: '/totvs/apo/', kind: 'folder' },
		{ label: 'appserver.ini', path: '/totvs/bin/appserver/appserver.ini', kind: 'file' },
	];
	it('maps Linux paths by their suffix under the root that holds them', () => {
		expect(mapIntoRestoredTree('/totvs/protheus_data', linux, restored)).toBe(join(restored, 'protheus_data'));
		expect(mapIntoRestoredTree('/totvs/protheus_data/', linux, restored)).toBe(join(restored, 'protheus_data'));
		expect(mapIntoRestoredTree('/totvs/apo/custom.rpo', linux, restored)).toBe(join(restored, 'apo', 'custom.rpo'));
		expect(mapIntoRestoredTree('/totvs/bin/appserver/appserver.ini', linux, restored)).toBe(
			join(restored, 'appserver.ini'),
		);
	});
	it('does not map a path outside the roots, nor a sibling sharing a prefix, nor under a single file', () => {
		expect(mapIntoRestoredTree('/other/apo', linux, restored)).toBeUndefined();
		expect(mapIntoRestoredTree('/totvs/apo2/x.rpo', linux, restored)).toBeUndefined();
		expect(mapIntoRestoredTree('/totvs/bin/appserver/appserver.ini/x', linux, restored)).toBeUndefined();
	});
	it('Linux paths are case-sensitive', () => {
		expect(mapIntoRestoredTree('/TOTVS/apo/custom.rpo', linux, restored)).toBeUndefined();
	});
	it('maps Windows paths case-insensitively with either slash, keeping the case of the restored names', () => {
		const windows: FilesRoot[] = [
			{ label: 'Protheus_Data', path: 'C:\\TOTVS\\Protheus_Data', kind: 'folder' },
			{ label: 'apo', path: 'C:\\TOTVS\\apo\\', kind: 'folder' },
			{ label: 'custom', path: 'C:\\TOTVS\\apo\\custom', kind: 'folder' },
		];
		expect(mapIntoRestoredTree('c:\\totvs\\protheus_data\\', windows, restored)).toBe(join(restored, 'Protheus_Data'));
		expect(mapIntoRestoredTree('C:/TOTVS/apo/tttm120.rpo', windows, restored)).toBe(
			join(restored, 'apo', 'tttm120.rpo'),
		);
		// The longest root that holds the path wins.
		expect(mapIntoRestoredTree('C:\\TOTVS\\apo\\custom\\custom.rpo', windows, restored)).toBe(
			join(restored, 'custom', 'custom.rpo'),
		);
		expect(mapIntoRestoredTree('D:\\TOTVS\\apo\\tttm120.rpo', windows, restored)).toBeUndefined();
	});
});
