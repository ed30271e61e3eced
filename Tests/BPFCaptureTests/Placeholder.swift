import Testing
@testable import BPFCapture
