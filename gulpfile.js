// Copies the nodes' and credentials' icons (and codex files) into dist, next to the compiled
// classes, where n8n looks for `icon: 'file:…'`.
const { src, dest, parallel } = require('gulp');

function copyNodeAssets() {
	return src(['nodes/**/*.{svg,png}', 'nodes/**/*.node.json'], { encoding: false }).pipe(dest('dist/nodes'));
}

function copyCredentialIcons() {
	return src('credentials/**/*.{svg,png}', { encoding: false }).pipe(dest('dist/credentials'));
}

exports['build:icons'] = parallel(copyNodeAssets, copyCredentialIcons);
