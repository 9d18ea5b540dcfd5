// Further research (issue 7): a Learner from scratch, and every step of the chapter on all ten digits.
export * from './learnerFromScratch';
export * from './tenMeans';
export * from './patchConv';
export * from './oneCycle';
export * from './fullMnist';
export * from './evaluation';
