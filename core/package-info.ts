import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** This package's name and version, read from its package.json (from source or from dist/). */
export function packageInfo(): { name: string; version: string } {
	let folder = __dirname;
	for (let i = 0; i < 6; i++) {
		const candidate = join(folder, 'package.json');
		if (existsSync(candidate)) {
			const pkg = JSON.parse(readFileSync(candidate, 'utf8')) as { name: string; version: string };
			if (pkg.name === 'n8n-nodes-totvs-backup') return { name: pkg.name, version: pkg.version };
		}
		folder = dirname(folder);
	}
	return { name: 'n8n-nodes-totvs-backup', version: 'unknown' };
}
