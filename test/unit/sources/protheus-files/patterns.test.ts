import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseIni, pickEnvironments, readAppserverIni } from '../../../../core/sources/protheus-files/appserver-ini';
import { entrySegments } from '../../../../core/sources/protheus-files/archive-reader';
import {
	compilePattern,
	makeSelection,
	PROTHEUS_DEFAULT_EXCLUDE,
	PROTHEUS_DEFAULT_INCLUDE,
} from '../../../../core/sources/protheus-files/patterns';
import { labelRoots } from '../../../../core/sources/protheus-files/tree';

describe('include/exclude patterns', () => {
	it.each([
		['*.rpo', 'apo/tttm120.rpo', true],
		['*.rpo', 'apo/TTTM120.RPO', true],
		['*.rpo', 'apo/tttm120.rpo.bak', false],
		['system', 'protheus_data/system/sx2010.dtc', true],
		['system', 'protheus_data/systemload/sx2.unq', false],
		['/protheus_data/system', 'protheus_data/system/a', true],
		['/system', 'protheus_data/system/a', false],
		['protheus_data/system/*.dtc', 'protheus_data/system/sx2010.dtc', true],
		['protheus_data/system/*.dtc', 'protheus_data/system/sub/sx2010.dtc', false],
		['protheus_data/**/*.dtc', 'protheus_data/system/sub/sx2010.dtc', true],
		['**/*.dtc', 'sx2010.dtc', true],
		['sx?010.dtc', 'protheus_data/system/sx2010.dtc', true],
		['sx[23]010.*', 'protheus_data/system/sx3010.idx', true],
		['sx[!23]010.*', 'protheus_data/system/sx3010.idx', false],
		['Relatório*.txt', 'dirdoc/co01/Relatório de Vendas.txt', true],
		['a+b (1).txt', 'x/a+b (1).txt', true],
		['*.log', 'bin/appserver/console.log', true],
	])('%s matches %s: %s', (pattern, path, expected) => {
		expect(compilePattern(pattern).test(path)).toBe(expected);
	});

	it('with the Protheus defaults keeps RPOs, ini and Protheus_Data areas, and leaves out systemload, spool, logs and temp files', () => {
		const s = makeSelection(PROTHEUS_DEFAULT_INCLUDE, PROTHEUS_DEFAULT_EXCLUDE);
		expect(
			[
				'apo/custom.rpo',
				'appserver.ini',
				'protheus_data/system/sigapss.spf',
				'protheus_data/profile/admin.prf',
				'protheus_data/web/pp/index.htm',
				'protheus_data/dirdoc/co01/x.pdf',
			].filter(s.includes),
		).toHaveLength(6);
		expect(
			[
				'protheus_data/systemload/sx2.unq',
				'protheus_data/spool/r.##r',
				'protheus_data/system/x.tmp',
				'bin/appserver/console.log',
				'protheus_data/semaforo/x.lck',
			].filter(s.includes),
		).toEqual([]);
		expect(s.enterFolder('protheus_data/systemload')).toBe(false);
		expect(s.enterFolder('protheus_data/semaforo')).toBe(true); // read, but nothing in it is kept
	});

	it('keeps explicitly named files whatever the patterns say', () => {
		const s = makeSelection(['*.ini'], ['apo'], ['apo/custom.rpo']);
		expect(s.includes('apo/custom.rpo')).toBe(true);
		expect(s.enterFolder('apo')).toBe(true);
		expect(s.includes('apo/other.rpo')).toBe(false);
	});

	it('labels roots by folder name, unique', () => {
		expect(
			labelRoots([
				{ path: '/a/apo', kind: 'folder' },
				{ path: '/b/APO/', kind: 'folder' },
				{ path: '/c/appserver.ini', kind: 'file' },
			]).map((r) => r.label),
		).toEqual(['apo', 'APO-2', 'appserver.ini']);
	});
});

describe('appserver.ini', () => {
	it('parses sections case-insensitively and ignores comments', () => {
		const ini = parseIni(
			'; comment\n[General]\nConsoleLog=1\n\n[p12]\n SourcePath = /totvs/apo \n# other\nROOTPATH=/totvs/protheus_data\r\n',
		);
		expect(ini.get('p12')?.get('sourcepath')).toBe('/totvs/apo');
		expect(ini.get('p12')?.get('rootpath')).toBe('/totvs/protheus_data');
		expect(ini.get('general')?.get('consolelog')).toBe('1');
	});

	it('finds the environments, resolves relative paths against the ini folder, reads Windows-1252', async () => {
		const folder = mkdtempSync(join(tmpdir(), 'totvs-ini-'));
		try {
			const iniPath = join(folder, 'appserver.ini');
			const text =
				'[P12]\nSourcePath=../apo\nRootPath=/totvs/protheus_data\nRpoCustom=../apo/custom.rpo\nRPOTLPP=/totvs/apo/tlpp.rpo\n[Homologação]\nSourcePath=/totvs/apo_homolog\nRootPath=/totvs/data_homolog\n[TCP]\nPort=1234\n';
			writeFileSync(iniPath, Buffer.from(text, 'latin1'));
			const envs = await readAppserverIni(iniPath);
			expect(envs.map((e) => e.name)).toEqual(['P12', 'Homologação']);
			expect(envs[0]).toEqual({
				name: 'P12',
				sourcePath: join(folder, '..', 'apo'),
				rootPath: '/totvs/protheus_data',
				rpoCustom: join(folder, '..', 'apo', 'custom.rpo'),
				rpoTlpp: '/totvs/apo/tlpp.rpo',
			});
			expect(pickEnvironments(envs, ['homologação'], iniPath).map((e) => e.name)).toEqual(['Homologação']);
			expect(() => pickEnvironments(envs, ['P11'], iniPath)).toThrow(/has no environment named P11.*/);
		} finally {
			rmSync(folder, { recursive: true, force: true });
		}
	});
});

describe('archive entry names', () => {
	it.each([
		'../x',
		'a/../../x',
		'a\\..\\x',
		'/etc/passwd',
		'\\\\server\\share\\x',
		'C:\\Windows\\x',
		'c:x',
		'',
		'.',
		'a\0b',
	])('refuses %j', (name) => {
		expect(() => entrySegments(name)).toThrow(expect.objectContaining({ code: 'UNSAFE_ARCHIVE' }));
	});
	it('accepts ordinary names, accents and spaces included', () => {
		expect(entrySegments('protheus_data/dirdoc/Relatório de março.txt')).toEqual([
			'protheus_data',
			'dirdoc',
			'Relatório de março.txt',
		]);
		expect(entrySegments('web/')).toEqual(['web']);
		expect(entrySegments('./a/./b..c')).toEqual(['a', 'b..c']);
	});
});
