// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "Switchyard",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "switchyard", targets: ["SwitchyardCLI"]),
        .library(name: "SwitchyardCore", targets: ["SwitchyardCore"]),
        .library(name: "MiniLMEncoder", targets: ["MiniLMEncoder"]),
        .library(name: "OpenAIClient", targets: ["OpenAIClient"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        /// OpenBLAS, as a C module with no API of its own.
        .systemLibrary(
            name: "CBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"]), .brew(["openblas"])]
        ),
        /// Matrices, typed BLAS wrappers, cosine scoring, k-means. The only target that touches pointers.
        /// Always optimised, even in debug builds: its SIMD loops are 50x slower unoptimised.
        .target(name: "VectorMath", dependencies: ["CBLAS"], swiftSettings: [.unsafeFlags(["-O"])]),
        /// Catalog, detectors, selector, router, pipeline, tracing. No networking, no process environment.
        .target(
            name: "SwitchyardCore",
            dependencies: [
                "VectorMath",
                .product(name: "Yams", package: "Yams"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        /// The native all-MiniLM-L6-v2 sentence encoder: WordPiece tokenizer, safetensors, BERT on OpenBLAS.
        .target(
            name: "MiniLMEncoder",
            dependencies: [
                "VectorMath", "SwitchyardCore",
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        /// OpenAI-compatible HTTP client: chat (plain and streamed), embeddings, models.
        .target(
            name: "OpenAIClient",
            dependencies: [
                "SwitchyardCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        /// Offline and replayed A/B evaluation of routers: metrics, McNemar, reports.
        .target(name: "SwitchyardEval", dependencies: ["SwitchyardCore", "VectorMath"]),
        /// The routing service: OpenAI-compatible auto-routing proxy, route and embeddings APIs, metrics.
        .target(
            name: "SwitchyardService",
            dependencies: [
                "SwitchyardCore", "MiniLMEncoder", "OpenAIClient", "VectorMath",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        /// The `switchyard` command line.
        .executableTarget(
            name: "SwitchyardCLI",
            dependencies: [
                "SwitchyardCore", "MiniLMEncoder", "OpenAIClient", "VectorMath", "SwitchyardEval", "SwitchyardService",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        /// Paths and fixtures shared by the test targets.
        .target(
            name: "SwitchyardTestSupport",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Tests/SwitchyardTestSupport"
        ),
        .testTarget(name: "VectorMathTests", dependencies: ["VectorMath"]),
        .testTarget(name: "MiniLMEncoderTests", dependencies: ["MiniLMEncoder", "SwitchyardCore", "VectorMath", "SwitchyardTestSupport"]),
        .testTarget(name: "SwitchyardCoreTests", dependencies: ["SwitchyardCore", "SwitchyardTestSupport"]),
        .testTarget(
            name: "OpenAIClientTests",
            dependencies: [
                "OpenAIClient", "SwitchyardCore", "SwitchyardTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "IntegrationTests",
            dependencies: ["OpenAIClient", "SwitchyardCore", "MiniLMEncoder", "VectorMath", "SwitchyardTestSupport"]
        ),
        .testTarget(name: "SwitchyardEvalTests", dependencies: ["SwitchyardEval", "SwitchyardCore", "MiniLMEncoder", "VectorMath", "SwitchyardTestSupport"]),
        .testTarget(
            name: "SwitchyardServiceTests",
            dependencies: [
                "SwitchyardService", "SwitchyardCore", "MiniLMEncoder", "OpenAIClient", "SwitchyardTestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .testTarget(name: "CLITests", dependencies: ["SwitchyardCLI", "SwitchyardTestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
