namespace WavFusion.Training.SynthEmo;

/// <summary>Sentence templates per wording group; "{0}" and "{1}" take fillers so that thousands of items rarely repeat a sentence.</summary>
internal static class SynthEmoTexts
{
    private static readonly string[] Things =
        ["the report", "the garden", "the new car", "the old house", "my brother", "the concert", "the dinner", "the project",
         "the letter", "the trip", "the kitchen", "our team", "the bike", "the shop", "the puppy", "the exam", "the phone", "the painting"];

    private static readonly string[] Times =
        ["this morning", "last night", "on Monday", "at noon", "yesterday", "after lunch", "on Friday", "in the evening", "today", "last week"];

    private static readonly string[] Joyful =
    [
        "I love {0}, it made {1} wonderful!",
        "Yes! We finally finished {0} {1}, this is amazing!",
        "What a fantastic surprise, {0} was perfect {1}.",
        "I am so thrilled about {0}, I could dance all day.",
        "Best news ever, {0} turned out brilliant {1}!",
        "Ha, {0} was pure joy {1}, I can't stop smiling.",
        "That is great, thank you so much for {0}!",
        "I feel fantastic, {0} went beautifully {1}.",
    ];

    private static readonly string[] Hostile =
    [
        "Who ruined {0}? This is outrageous!",
        "I am sick of {0}, stop wasting my time {1}!",
        "How dare you touch {0} {1}, get out!",
        "This is ridiculous, {0} is broken again!",
        "Don't you ever lie to me about {0}!",
        "I hate how you handled {0} {1}, it's unacceptable!",
        "Enough! You wrecked {0} and you don't even care.",
        "Stop it right now, {0} is none of your business!",
    ];

    private static readonly string[] Mournful =
    [
        "I miss {0} so much, everything feels empty {1}.",
        "It hurts that {0} is gone, I cried {1}.",
        "Nobody came for {0} {1}, I feel so alone.",
        "I lost {0}, and I don't know how to go on.",
        "Everything about {0} reminds me of what we lost.",
        "I am so tired and hopeless about {0} {1}.",
        "We said goodbye to {0} {1}, it broke my heart.",
        "I failed {0} again, nothing ever works out.",
    ];

    private static readonly string[] Plain =
    [
        "The meeting about {0} moved to {1}.",
        "Please put {0} next to the door.",
        "I checked {0} {1} and wrote it down.",
        "We talked about {0} {1}.",
        "The bus stops near {0} every hour.",
        "{1} I sent the note about {0}.",
        "There are three chairs beside {0}.",
        "I will look at {0} {1}.",
    ];

    public static string Sentence(WordingGroup group, SplitMix64 rng)
    {
        string[] templates = group switch
        {
            WordingGroup.Joyful => Joyful,
            WordingGroup.Hostile => Hostile,
            WordingGroup.Mournful => Mournful,
            WordingGroup.Plain => Plain,
            _ => throw new ArgumentOutOfRangeException(nameof(group), group, null),
        };
        string template = templates[rng.Next(templates.Length)];
        string thing = Things[rng.Next(Things.Length)], time = Times[rng.Next(Times.Length)];
        string text = string.Format(System.Globalization.CultureInfo.InvariantCulture, template, thing, time);
        return char.ToUpperInvariant(text[0]) + text[1..];
    }
}
