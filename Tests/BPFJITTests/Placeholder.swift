import Testing
@testable import BPFJIT
