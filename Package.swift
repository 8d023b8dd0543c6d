// swift-tools-version:6.1
import PackageDescription

// Import arrows run one way:
// CBLAS <- VectorMath <- PointsmanInterfaces <- MiniLMEncoder, OpenAIClient <- PointsmanCore <- PointsmanEval,
// PointsmanMCP, PointsmanPostgres <- PointsmanService <- PointsmanCLI. Each target lists exactly what its files import.
let package = Package(
    name: "Pointsman",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "pointsman", targets: ["PointsmanCLI"]),
        .library(name: "PointsmanCore", targets: ["PointsmanCore"]),
        .library(name: "PointsmanInterfaces", targets: ["PointsmanInterfaces"]),
        .library(name: "MiniLMEncoder", targets: ["MiniLMEncoder"]),
        .library(name: "OpenAIClient", targets: ["OpenAIClient"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/modelcontextprotocol/swift-sdk", from: "0.12.1"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-distributed-tracing", from: "1.7.3"),
        // Traces over OTLP/HTTP only: the gRPC exporter's dependencies are not built.
        .package(url: "https://github.com/swift-otel/swift-otel", from: "1.6.0", traits: ["OTLPHTTP"]),
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
        /// The types every layer above shares: chat messages and backends, the embedding provider protocol and the
        /// embedder fingerprint.
        .target(name: "PointsmanInterfaces", dependencies: ["VectorMath"]),
        /// The native all-MiniLM-L6-v2 sentence encoder: WordPiece tokenizer, safetensors, BERT on OpenBLAS.
        .target(
            name: "MiniLMEncoder",
            dependencies: [
                "VectorMath", "PointsmanInterfaces",
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        /// OpenAI-compatible HTTP client: chat (plain and streamed), embeddings, models.
        .target(
            name: "OpenAIClient",
            dependencies: [
                "VectorMath", "PointsmanInterfaces",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        /// Catalog, detectors, selector, routing set-up, router, pipeline, trainer. No networking, no process
        /// environment.
        .target(
            name: "PointsmanCore",
            dependencies: [
                "VectorMath", "PointsmanInterfaces",
                .product(name: "Yams", package: "Yams"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        /// Offline and replayed A/B evaluation of routers: metrics, McNemar, reports.
        .target(name: "PointsmanEval", dependencies: ["PointsmanCore", "PointsmanInterfaces", "VectorMath"]),
        /// The routing service: OpenAI-compatible auto-routing proxy, route and embeddings APIs, metrics.
        .target(
            name: "PointsmanService",
            dependencies: [
                "PointsmanCore", "PointsmanInterfaces", "MiniLMEncoder", "OpenAIClient", "VectorMath", "PointsmanMCP",
                "PointsmanPostgres",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ]
        ),
        /// Pointsman as a Model Context Protocol server: tools (route, ask, pipeline, compare), resources, and the
        /// Streamable HTTP session table the service mounts at /mcp.
        .target(
            name: "PointsmanMCP",
            dependencies: [
                "PointsmanCore", "PointsmanInterfaces", "OpenAIClient",
                .product(name: "MCP", package: "swift-sdk"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        /// PostgreSQL as the state replicas share (spend ledger), through postgres-nio, with versioned migrations.
        .target(
            name: "PointsmanPostgres",
            dependencies: [
                "PointsmanCore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        /// The `pointsman` command line.
        .executableTarget(
            name: "PointsmanCLI",
            dependencies: [
                "PointsmanCore", "PointsmanInterfaces", "MiniLMEncoder", "OpenAIClient", "VectorMath", "PointsmanEval",
                "PointsmanService", "PointsmanMCP", "PointsmanPostgres",
                .product(name: "MCP", package: "swift-sdk"),
                .product(name: "OTel", package: "swift-otel"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        /// Paths, fixtures and fake servers shared by the test targets.
        .target(
            name: "PointsmanTestSupport",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Tests/PointsmanTestSupport"
        ),
        .testTarget(name: "VectorMathTests", dependencies: ["VectorMath"]),
        .testTarget(name: "MiniLMEncoderTests", dependencies: ["MiniLMEncoder", "VectorMath", "PointsmanTestSupport"]),
        .testTarget(
            name: "PointsmanCoreTests",
            dependencies: ["PointsmanCore", "PointsmanInterfaces", "VectorMath", "PointsmanTestSupport"]
        ),
        .testTarget(
            name: "OpenAIClientTests",
            dependencies: ["OpenAIClient", "PointsmanInterfaces", "PointsmanTestSupport"]
        ),
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "OpenAIClient", "PointsmanCore", "PointsmanInterfaces", "MiniLMEncoder", "VectorMath",
                "PointsmanTestSupport",
            ]
        ),
        .testTarget(
            name: "PointsmanEvalTests",
            dependencies: ["PointsmanEval", "PointsmanCore", "MiniLMEncoder", "VectorMath", "PointsmanTestSupport"]
        ),
        .testTarget(
            name: "PointsmanServiceTests",
            dependencies: [
                "PointsmanService", "PointsmanCore", "PointsmanInterfaces", "MiniLMEncoder", "OpenAIClient",
                "PointsmanTestSupport", "PointsmanMCP", "PointsmanPostgres",
                .product(name: "MCP", package: "swift-sdk"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .testTarget(name: "CLITests", dependencies: ["PointsmanCLI", "PointsmanTestSupport"]),
        .testTarget(
            name: "PointsmanPostgresTests",
            dependencies: [
                "PointsmanPostgres", "PointsmanCore", "PointsmanTestSupport",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
