Console.WriteLine(TorchSharp.torch.ones(2,3).sum().item<float>());
