// The shared library of the lesson pack. Notebooks import the compiled copy: `../dist/src`.
export * from './backend';
export * from './data';
export * from './notebook';
export * from './plots';
export * from './random';
export * from './tensors';
export * from './autograd';
export * from './losses';
export * from './nn';
export * from './optim';
export * from './dataloader';
export * from './learner';
export * from './cache';
export * from './defaults';
export * from './convBackend';
