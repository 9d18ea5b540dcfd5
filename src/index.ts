// The shared library of the lesson pack. Notebooks import the compiled copy: `../dist/src`.
export * from './backend';
