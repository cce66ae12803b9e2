import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { index: 'src/index.ts', 'voicemail-cli': 'src/cli/voicemail-bin.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  splitting: false,
  treeshake: true,
});
