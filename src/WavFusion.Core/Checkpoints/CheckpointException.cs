namespace WavFusion.Core.Checkpoints;

/// <summary>A checkpoint file that cannot be read or does not fit the model it is loaded into.</summary>
public class CheckpointException : Exception
{
    public CheckpointException(string message) : base(message) { }
    public CheckpointException(string message, Exception inner) : base(message, inner) { }
    public CheckpointException() { }
}
