extension RegexRuleSet {
    /// The shipped rule set over all ten capabilities: the A/B baseline. Frozen: it was written once, by reading the
    /// capability definitions and typical phrasings (imperative verbs, question words, domain nouns), before any
    /// evaluation; it is not tuned against evaluation data. Order matters (first match wins): the most specific
    /// intents (translation, code, summarize, extraction, classification) come before the broad ones (math, reasoning,
    /// creative, qa); anything else is `general`.
    public static let shipped = RegexRuleSet(defaultCapability: "general", rules: [
        RegexRule(
            name: "translation",
            pattern: #"\btranslat(e|es|ed|ing|ion)\b|\b(in|into|to) (the )?(english|spanish|french|german|italian|portuguese|chinese|mandarin|japanese|korean|russian|arabic|hindi|dutch|czech|polish|turkish|ukrainian|hebrew|swedish|greek)\b"#,
            capability: "translation"),
        RegexRule(
            name: "code",
            pattern: #"\bcode\b|\bcoding\b|\bfunctions?\b|\brefactor|\bbugs?\b|\bdebug|\b(python|javascript|typescript|java|c\+\+|c#|rust|golang|swift|kotlin|ruby|php|sql|html|css|bash|regex)\b|\bprogram(ming|s)?\b|\bscript\b|\balgorithm|\bimplement|\bcompil(e|er|ing)\b|\bstack ?trace\b|\bexception\b|```|\bapi\b|\bclass\b|\bmethod\b|\bdef\s+\w+\(|\bunit tests?\b"#,
            capability: "code"),
        RegexRule(
            name: "summarize",
            pattern: #"summar(y|ies|ize|ise|izing|ising)|\btl;?dr\b|\bsum (it )?up\b|\bkey (points|takeaways)\b|\bcondense\b|\brecap\b|\bin (one|two|three|a few|\d+) (sentences?|words|bullet points?)\b|\bheadline\b|\btitle for\b"#,
            capability: "summarize"),
        RegexRule(
            name: "extraction",
            pattern: #"\bextract|\bpull out\b|\bnamed entit|\b(list|find|identify|get) (all|every) (the )?(names|dates|numbers|emails|e-mail addresses|urls|people|places|companies|entities|organizations|locations)\b|\bparse\b|\bin (json|csv) format\b|\bas (json|a json object|a table)\b"#,
            capability: "extraction"),
        RegexRule(
            name: "classification",
            pattern: #"classif|\blabel\b|\bcategor|\bsentiment\b|\bpositive or negative\b|\bspam\b|\bwhich (topic|category|class|genre)\b|\btopic of\b|\btoxic|\bwould the (user|reviewer|customer) recommend\b|\bis (this|the following) (review|message|email|tweet|text|sentence|comment) (positive|negative|spam|toxic|sarcastic)\b"#,
            capability: "classification"),
        RegexRule(
            name: "math",
            pattern: #"\bcalculat|\bcompute\b|\bsolve\b|\bequations?\b|\bintegral|\bderivative|\bprobability\b|\bmath|\bhow (many|much)\b|\bpercent|\baverage\b|\bsum of\b|\bprime\b|\btheorem\b|\bprove\b|\d+\s*[-+*/×÷^]\s*\d+|\$\d|\bdollars?\b"#,
            capability: "math"),
        RegexRule(
            name: "reasoning",
            pattern: #"\bwhy\b|\breason|\blogic|\bpuzzle|\briddle|\bstep[- ]by[- ]step\b|\bdeduce|\binfer\b|\bpros and cons\b|\bcompare\b|\btrade-?offs?\b|\bimplications?\b|\bwhich of the following\b|\boptions:|\btrue or false\b|\bplausible\b|\bif\b.+\bthen\b"#,
            capability: "reasoning"),
        RegexRule(
            name: "creative",
            pattern: #"\b(write|compose|draft|create|craft|invent)\b.{0,40}\b(story|poem|haiku|song|lyrics|essay|blog|letter|email|speech|script|joke|limerick|dialogue|tweet|slogan|tagline|post)s?\b|\bstory\b|\bpoem\b|\bfiction|\bimagine\b|\bpretend\b|\brole-?play|\bcreative"#,
            capability: "creative"),
        RegexRule(
            name: "qa",
            pattern: #"^\s*(what|who|whom|whose|when|where|which|how|is|are|was|were|does|do|did|can|could|should|would|will)\b|\?\s*$|\bexplain\b|\bdefine\b|\bmeaning of\b|\btell me about\b|\bdescribe\b"#,
            capability: "qa"),
    ])
}
