import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// The layers (ARCHITECTURE.md): imports point down only. commands -> services -> domain, kafka,
// db, ui, config. kafka and db never import each other; domain imports neither driver.
const layer = (files, forbidden, message, typeOnly = []) => ({
  files,
  rules: {
    '@typescript-eslint/no-restricted-imports': [
      'error',
      {
        patterns: [
          { group: forbidden, message },
          ...(typeOnly.length > 0 ? [{ group: typeOnly, message: `${message} (a type import is allowed)`, allowTypeImports: true }] : []),
        ],
      },
    ],
  },
});
const upper = ['**/commands/*', '**/server/*', '**/cli.js'];

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'bench/results/', 'eslint.config.js', 'bin/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      'no-console': 'error',
    },
  },
  layer(['src/domain/**'], ['mongodb', 'kafkajs', '**/db/*', '**/kafka/*', '**/services/*', '**/ui/*', '**/config/load.js', ...upper], 'domain is pure: no drivers, no adapters, no services.'),
  layer(['src/kafka/**'], ['mongodb', '**/db/*', '**/services/*', '**/ui/*', ...upper], 'kafka/ moves bytes: it knows nothing of MongoDB, services or output.'),
  layer(['src/db/**'], ['kafkajs', '**/kafka/*', '**/services/*', '**/ui/*', ...upper], 'db/ is MongoDB only: no Kafka, services or output.'),
  // Services still name the driver's Db type to hand it to the db/ stores (stock.ts, buy.ts,
  // dead-letters.ts): allowed as a type import only; the queries themselves are in db/.
  layer(['src/services/**'], [...upper], 'services do not know the commands that call them; MongoDB is reached through db/', ['mongodb']),
  layer(['src/commands/**'], ['mongodb', 'kafkajs', '**/db/*', '**/kafka/*'], 'commands parse, call one service and render: Kafka and MongoDB are reached through services.'),
  {
    files: ['**/*.mjs', '**/*.js'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    files: ['src/ui/**', 'scripts/**', 'bench/**'],
    rules: { 'no-console': 'off' },
  },
  {
    files: ['test/**', 'bench/**'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
    },
  },
);
