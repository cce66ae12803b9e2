/** @pbxkit/esl is being built: see its README for what is coming. */
export const PACKAGE_STATUS = 'planned' as const;
