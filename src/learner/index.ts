// fastai's Learner, its callbacks, the Recorder and the progress display.
export * from './callbacks';
export * from './learner';
export * from './recorder';
export * from './progress';
